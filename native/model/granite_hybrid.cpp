// native/model/granite_hybrid.cpp: see granite_hybrid.h.
// Per layer (pre-norm, two residual branches scaled by residual_multiplier):
//   u = rmsnorm(h, attn_norm); h += m_res * (Mamba2(u) | Attention(u))
//   v = rmsnorm(h, ffn_norm);  h += m_res * (SharedMLP(v) [+ MoE(v)])
// then logits = rmsnorm(h, output_norm) · W_lm^T / logits_scaling, only for the
// rows the caller asked for (the last token of each sequence, or all).
// ref: docs/MODEL.md (Forward pass); HF modeling_granitemoehybrid.py.
#include "granite_hybrid.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace hl {

// Scan form of a prefill step (docs/KERNELS.md, Mamba-2 scan; measured with
// bench/ssm-scan-chunk.ts): the chunked SSD form once some sequence brings
// kChunkedScanMinTokens new tokens, the recurrence below. Chunks are
// kScanChunkTokens long, or the model's mamba_chunk_size when that is shorter:
// the length changes only rounding, and longer chunks measured slower on CPU
// (the intra-chunk term grows with it).
constexpr int64_t kChunkedScanMinTokens = 512;
constexpr int64_t kScanChunkTokens = 64;

// Logits rows a sequence of a step asks for: every token's, or its last.
static int64_t logits_rows(const StepSequence& sq) { return sq.all_logits ? (int64_t)sq.tokens.size() : 1; }

// Its greedy token is picked on the backend; no logits come back for it.
static bool picked_on_backend(const StepSequence& sq) { return sq.argmax_only && !sq.all_logits; }

std::vector<GraniteHybrid::ScratchBuffer> GraniteHybrid::scratch_plan(int64_t T, int64_t rows) const {
  const ModelDims& d = dims_;
  using G = GraniteHybrid;
  return {
      {&G::ids_, T}, {&G::h_, T * d.d_model}, {&G::u_, T * d.d_model}, {&G::branch_, T * d.d_model},
      // Mamba mixer: in_proj output (z | xBC | dt), conv output, scan output
      {&G::proj_, T * d.in_proj_width()}, {&G::xbc_conv_, T * d.conv_channels()}, {&G::y_, T * d.d_inner},
      // attention: q, k, v, output
      {&G::q_, T * d.n_heads * d.head_dim}, {&G::k_, T * d.n_kv_heads * d.head_dim},
      {&G::v_, T * d.n_kv_heads * d.head_dim}, {&G::attn_, T * d.n_heads * d.head_dim},
      // shared MLP and routed experts
      {&G::gate_, T * d.shared_ff}, {&G::up_, T * d.shared_ff}, {&G::router_logits_, T * d.n_experts},
      {&G::route_ids_, T * d.top_k}, {&G::route_w_, T * d.top_k}, {&G::moe_out_, T * d.d_model},
      // final norm, logits, greedy picks
      {&G::final_, rows * d.d_model}, {&G::logits_, rows * d.vocab}, {&G::picked_, rows},
  };
}

void GraniteHybrid::reserve_scratch(int64_t T, int64_t rows) {
  for (const ScratchBuffer& b : scratch_plan(T, rows))
    (this->*b.buffer).reserve(*backend_, sizeof(float) * (size_t)std::max<int64_t>(b.floats, 1));
}

// KV pages of a type the backend lacks fall back to F32 (kv_note() says so).
static PoolOptions supported_kv(PoolOptions o, const Backend& b) {
  if (!b.supports_kv(o.kv_dtype)) o.kv_dtype = DType::F32;
  return o;
}

GraniteHybrid::GraniteHybrid(const ModelDims& dims, std::unique_ptr<WeightStore> weights,
                             std::unique_ptr<Backend> backend, PoolOptions pool)
    : dims_(dims),
      weights_(std::move(weights)),
      backend_(std::move(backend)),
      states_(*backend_, dims, supported_kv(pool, *backend_)) {
  if (states_.kv_layout().dtype != pool.kv_dtype)
    kv_note_ = std::string("KV cache kept in F32: the ") + backend_->name() + " backend has no " +
               dtype_name(pool.kv_dtype) + " KV pages yet";
  dims_.validate();
  HL_CHECK(!(dims_.dt_max > 0.f), Unsupported, "model config: a finite time_step_limit (dt clamp) is not supported yet");
  set_scan_policy(kChunkedScanMinTokens,
                  dims_.chunk_size > 0 ? std::min(dims_.chunk_size, kScanChunkTokens) : kScanChunkTokens);
  bind_weights();
  const uint64_t fixed = weights_->bytes() + backend_->weight_copy_bytes();
  HL_CHECK(fixed + states_.recurrent_bytes_per_sequence() <= pool.budget, OutOfMemory,
           "memoryBudget of " + std::to_string(pool.budget) + " bytes is below the weights (" + std::to_string(fixed) +
               " bytes) plus one sequence's state (" + std::to_string(states_.recurrent_bytes_per_sequence()) +
               " bytes)");
  states_.set_fixed_bytes(fixed);
}

// Scratch after a step of T tokens and `rows` logits rows: each buffer keeps
// its largest size so far (buffers grow, never shrink).
uint64_t GraniteHybrid::scratch_bytes_for(int64_t T, int64_t rows) const {
  uint64_t bytes = 0;
  for (const ScratchBuffer& b : scratch_plan(T, rows))
    bytes += std::max<uint64_t>((this->*b.buffer).bytes(), sizeof(float) * (uint64_t)std::max<int64_t>(b.floats, 1));
  return bytes;
}

// A weight matrix the backend can run `op` on (else UnsupportedError naming both).
WeightView GraniteHybrid::matrix(const std::string& name, int64_t rows, int64_t cols, Op op) {
  WeightView v = weights_->matrix(name, rows, cols);
  const TensorRecord& r = weights_->record(name);
  HL_CHECK(backend_->supports(op, v.dtype), Unsupported,
           std::string("the ") + backend_->name() + " backend cannot run " + op_name(op) + " on tensor '" +
               r.source_name + "' of type " + dtype_name(v.dtype));
  // Span of every expert/row the view can reach, handed to the backend once.
  size_t n_mats = r.shape.size() == 3 ? (size_t)r.shape[0] : 1;
  size_t span = (n_mats - 1) * r.matrix_bytes + (size_t)(rows - 1) * r.row_bytes + dtype_row_bytes(v.dtype, cols);
  v.data = backend_->weights(v.data, span);
  return v;
}

// A small f32 weight vector (norm, conv, A, D, dt bias) in backend memory.
const float* GraniteHybrid::vector(const std::string& name, int64_t numel) {
  const float* host = weights_->vector_f32(name, numel);
  return reinterpret_cast<const float*>(
      backend_->weights(reinterpret_cast<const uint8_t*>(host), sizeof(float) * (size_t)numel));
}

void GraniteHybrid::bind_weights() {
  const ModelDims& d = dims_;
  WeightStore& w = *weights_;
  token_embd_ = matrix("token_embd", d.vocab, d.d_model, Op::Embed);
  lm_head_ = matrix(d.tied ? "token_embd" : "output", d.vocab, d.d_model, Op::Matmul);
  output_norm_ = vector("output_norm", d.d_model);
  int64_t n_mamba = 0, n_attn = 0;
  for (int64_t l = 0; l < d.n_layers; l++) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights lw;
    lw.kind = d.layer_kinds[l];
    lw.attn_norm = vector(p + "attn_norm", d.d_model);
    lw.ffn_norm = vector(p + "ffn_norm", d.d_model);
    if (lw.kind == LayerKind::Mamba) {
      lw.ordinal = n_mamba++;
      const int64_t C = d.conv_channels();
      lw.ssm_in = matrix(p + "ssm_in", d.in_proj_width(), d.d_model, Op::Matmul);
      lw.ssm_out = matrix(p + "ssm_out", d.d_model, d.d_inner, Op::Matmul);
      lw.conv_w = vector(p + "ssm_conv1d", C * d.d_conv);
      lw.conv_b = vector(p + "ssm_conv1d_bias", C);
      lw.dt_bias = vector(p + "ssm_dt_bias", d.ssm_heads);
      lw.A = vector(p + "ssm_a", d.ssm_heads);
      lw.D = vector(p + "ssm_d", d.ssm_heads);
      lw.ssm_norm = vector(p + "ssm_norm", d.d_inner);
    } else {
      lw.ordinal = n_attn++;
      lw.q = matrix(p + "attn_q", d.n_heads * d.head_dim, d.d_model, Op::Matmul);
      lw.k = matrix(p + "attn_k", d.n_kv_heads * d.head_dim, d.d_model, Op::Matmul);
      lw.v = matrix(p + "attn_v", d.n_kv_heads * d.head_dim, d.d_model, Op::Matmul);
      lw.o = matrix(p + "attn_output", d.d_model, d.n_heads * d.head_dim, Op::Matmul);
    }
    lw.ffn_gate = matrix(p + "ffn_gate", d.shared_ff, d.d_model, Op::Matmul);
    lw.ffn_up = matrix(p + "ffn_up", d.shared_ff, d.d_model, Op::Matmul);
    lw.ffn_down = matrix(p + "ffn_down", d.d_model, d.shared_ff, Op::Matmul);
    if (d.n_experts > 0) {
      lw.has_moe = true;
      lw.router = matrix(p + "ffn_gate_inp", d.n_experts, d.d_model, Op::Matmul);
      lw.moe.gate = matrix(p + "ffn_gate_exps", d.expert_ff, d.d_model, Op::MoeForward);
      lw.moe.up = matrix(p + "ffn_up_exps", d.expert_ff, d.d_model, Op::MoeForward);
      lw.moe.down = matrix(p + "ffn_down_exps", d.d_model, d.expert_ff, Op::MoeForward);
      for (const char* n : {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"}) {
        const TensorRecord& r = w.record(p + n);
        HL_CHECK(r.shape.size() == 3 && r.shape[0] == d.n_experts, Shape,
                 "tensor '" + r.source_name + "' must have " + std::to_string(d.n_experts) + " experts");
      }
      lw.moe.gate_expert_stride = (int64_t)w.expert_stride(p + "ffn_gate_exps");
      lw.moe.up_expert_stride = (int64_t)w.expert_stride(p + "ffn_up_exps");
      lw.moe.down_expert_stride = (int64_t)w.expert_stride(p + "ffn_down_exps");
      lw.moe.n_experts = d.n_experts;
    }
    layers_.push_back(lw);
  }
}

void GraniteHybrid::step(std::vector<StepSequence>& batch) {
  std::unique_lock<std::mutex> lock(step_mutex_, std::try_to_lock);
  HL_CHECK(lock.owns_lock(), Busy, "model is already running a step");
  const ModelDims& d = dims_;
  HL_CHECK(!batch.empty(), Argument, "step: empty batch");
  for (StepSequence& sq : batch) {
    HL_CHECK(!sq.tokens.empty(), Argument, "step: sequence with no tokens");
    for (int32_t t : sq.tokens)
      if (t < 0 || t >= d.vocab) {
        sq.failed = true;
        sq.error_code = ErrorCode::Argument;
        sq.error = "token id " + std::to_string(t) + " is out of range [0, " + std::to_string(d.vocab) + ")";
        break;
      }
  }
  // Claim slots, checkpoints and KV pages before any state is touched: a
  // sequence that cannot get them fails alone, as it was.
  states_.begin_step(batch);
  std::vector<StepSequence*> run;
  for (StepSequence& sq : batch)
    if (!sq.failed) run.push_back(&sq);
  // Scratch for the step: when it does not fit, the longest sequence is left
  // out (failed alone) until it does.
  for (;;) {
    if (run.empty()) return;
    int64_t T = 0, rows = 0;
    for (StepSequence* sq : run) {
      T += (int64_t)sq->tokens.size();
      rows += logits_rows(*sq);
    }
    try {
      states_.grow_scratch(scratch_bytes_for(T, rows));
      reserve_scratch(T, rows);
      break;
    } catch (const Error& e) {
      if (e.code != ErrorCode::OutOfMemory) {
        states_.abort_step(batch);
        throw;
      }
      auto longest = std::max_element(run.begin(), run.end(), [](const StepSequence* a, const StepSequence* b) {
        return a->tokens.size() < b->tokens.size();
      });
      states_.fail(**longest, e);
      run.erase(longest);
    }
  }
  const int n_seqs = (int)run.size();
  cu_seqlens_.assign(n_seqs + 1, 0);
  seq_states_.resize(n_seqs);
  decode_ = true;
  std::vector<int32_t> ids;
  int64_t longest = 0;
  for (int s = 0; s < n_seqs; s++) {
    cu_seqlens_[s + 1] = cu_seqlens_[s] + (int32_t)run[s]->tokens.size();
    seq_states_[s] = run[s]->state.get();
    decode_ = decode_ && run[s]->tokens.size() == 1;
    longest = std::max<int64_t>(longest, (int64_t)run[s]->tokens.size());
    ids.insert(ids.end(), run[s]->tokens.begin(), run[s]->tokens.end());
  }
  scan_chunk_ = longest >= scan_min_tokens_.load() ? (int)scan_chunk_tokens_.load() : 0;
  const int64_t T = cu_seqlens_[n_seqs];
  try {
    // A decode step may run as a replay of the graph recorded for its batch
    // size and whether it picks greedy tokens on the backend (those steps
    // issue one op more); when the backend refuses one (nothing ran), the
    // same ops again.
    bool picks = false;
    for (const StepSequence* sq : run) picks = picks || picked_on_backend(*sq);
    const int64_t graph_key = decode_ ? 2 * (int64_t)n_seqs + (picks ? 1 : 0) : 0;
    for (int pass = 0;; pass++) {
      backend_->begin_step(pass == 0 ? graph_key : 0);
      forward(ids, T, run);
      if (backend_->end_step()) break;
      HL_CHECK(pass == 0, Internal, "the backend refused an eager step");
    }
    read_logits(run);
  } catch (...) {
    backend_->abort_step();
    states_.abort_step(batch);
    throw;
  }
  states_.commit_step(batch);
  steps_run_.fetch_add(1, std::memory_order_relaxed);
}

// The step's device work: every upload and op up to the logits (no download).
void GraniteHybrid::forward(const std::vector<int32_t>& ids, int64_t T, const std::vector<StepSequence*>& run) {
  const ModelDims& d = dims_;
  float* h = h_.f32();
  float* u = u_.f32();
  float* branch = branch_.f32();
  int32_t* dev_ids = reinterpret_cast<int32_t*>(ids_.f32());
  backend_->upload(dev_ids, ids.data(), sizeof(int32_t) * (size_t)T);
  backend_->embed(h, token_embd_, dev_ids, T, d.embedding_multiplier);
  // Each residual add is fused with the norm that reads its sum: the layer's
  // ffn_norm, then the next layer's attn_norm (the last add has none).
  backend_->rmsnorm(u, h, layers_[0].attn_norm, T, d.d_model, d.rms_norm_eps);
  for (size_t l = 0; l < layers_.size(); l++) {
    if (fail_after_layers_.load() == (int64_t)l) {
      fail_after_layers_ = -1;
      throw Error(ErrorCode::Internal, "injected step failure (test hook)");
    }
    const LayerWeights& lw = layers_[l];
    if (lw.kind == LayerKind::Mamba)
      mamba_mixer(lw, T, branch);
    else
      attention_mixer(lw, T, branch);
    backend_->add_rmsnorm(h, u, branch, d.residual_multiplier, lw.ffn_norm, T, d.d_model, d.rms_norm_eps);
    feed_forward(lw, T, branch);
    if (l + 1 < layers_.size())
      backend_->add_rmsnorm(h, u, branch, d.residual_multiplier, layers_[l + 1].attn_norm, T, d.d_model,
                            d.rms_norm_eps);
    else
      backend_->add_scaled(h, branch, d.residual_multiplier, T * d.d_model);
  }
  compute_logits(run);
}

void GraniteHybrid::mamba_mixer(const LayerWeights& lw, int64_t T, float* out) {
  const ModelDims& d = dims_;
  const int n_seqs = (int)seq_states_.size();
  const int64_t di = d.d_inner, C = d.conv_channels(), GN = d.n_groups * d.d_state, H = d.ssm_heads;
  const int64_t Zin = d.in_proj_width();
  float* proj = proj_.f32();      // [T, Z_in] = z | xBC | dt
  float* xbc = xbc_conv_.f32();     // [T, C_conv] = x | B | C after conv + SiLU
  float* y = y_.f32();             // [T, H, P]

  // z, xBC and dt are read in place as column views of proj, x, B and C as
  // column views of the conv output (row strides Z_in and C_conv): no copies.
  backend_->matmul(proj, u_.f32(), T, lw.ssm_in);
  const float* z = proj;
  const float* xbc_raw = proj + di;
  const float* dt = proj + di + C;

  std::vector<float*> conv_states(n_seqs), ssm_states(n_seqs);
  for (int s = 0; s < n_seqs; s++) {
    conv_states[s] = seq_states_[s]->conv_layer(lw.ordinal);
    ssm_states[s] = seq_states_[s]->ssm_layer(lw.ordinal);
  }
  if (decode_)
    backend_->conv1d_causal_step(xbc, xbc_raw, lw.conv_w, lw.conv_b, C, (int)d.d_conv, n_seqs, conv_states.data(),
                                 Zin);
  else
    backend_->conv1d_causal_prefill(xbc, xbc_raw, lw.conv_w, lw.conv_b, C, (int)d.d_conv, cu_seqlens_.data(),
                                    n_seqs, conv_states.data(), Zin);
  const float* x = xbc;
  const float* B = xbc + di;
  const float* Cm = xbc + di + GN;

  const SsmDims sd{H, d.ssm_head_dim, d.d_state, d.n_groups};
  const SsmStrides ss{C, Zin, C};
  if (decode_)
    backend_->ssm_step(y, x, dt, lw.A, B, Cm, lw.D, lw.dt_bias, sd, n_seqs, ssm_states.data(), ss);
  else
    backend_->ssm_scan(y, x, dt, lw.A, B, Cm, lw.D, lw.dt_bias, sd, cu_seqlens_.data(), n_seqs, ssm_states.data(),
                       scan_chunk_, ss);
  backend_->gated_rmsnorm(y, y, z, lw.ssm_norm, T, di, d.n_groups, d.rms_norm_eps, Zin);
  backend_->matmul(out, y, T, lw.ssm_out);
}

void GraniteHybrid::attention_mixer(const LayerWeights& lw, int64_t T, float* out) {
  const ModelDims& d = dims_;
  const int n_seqs = (int)seq_states_.size();
  const int64_t Dh = d.head_dim, Hq = d.n_heads, Hkv = d.n_kv_heads;
  float* q = q_.f32();   // [T, Hq, Dh]
  float* k = k_.f32();  // [T, Hkv, Dh]
  float* v = v_.f32();  // [T, Hkv, Dh]
  float* o = attn_.f32();
  float* const qkv[3] = {q, k, v};
  const WeightView qkv_w[3] = {lw.q, lw.k, lw.v};
  backend_->matmul_multi(qkv, u_.f32(), T, qkv_w, 3);  // one pass over the shared input

  // Append the new keys/values at positions n_past.. of each sequence.
  std::vector<std::vector<float*>> k_pages(n_seqs), v_pages(n_seqs);
  std::vector<KvView> views(n_seqs);
  const KvLayout& kl = states_.kv_layout();
  const int64_t ps = kl.page_size;
  for (int s = 0; s < n_seqs; s++) {
    SequenceState* st = seq_states_[s];
    const int64_t t0 = cu_seqlens_[s], n_new = cu_seqlens_[s + 1] - t0;
    const int64_t n_pages = (st->n_past + n_new + ps - 1) / ps;
    k_pages[s].resize(n_pages);
    v_pages[s].resize(n_pages);
    for (int64_t i = 0; i < n_pages; i++) {
      k_pages[s][i] = states_.kv_block(*st, i, lw.ordinal, false);
      v_pages[s][i] = states_.kv_block(*st, i, lw.ordinal, true);
    }
    backend_->kv_write(k_pages[s].data(), ps, k + t0 * Hkv * Dh, st->n_past, n_new, Hkv, Dh, kl.dtype);
    backend_->kv_write(v_pages[s].data(), ps, v + t0 * Hkv * Dh, st->n_past, n_new, Hkv, Dh, kl.dtype);
    views[s] = KvView{k_pages[s].data(), v_pages[s].data(), ps, kl.head_stride(), kl.token_stride(),
                      st->n_past + n_new, kl.dtype, kl.scale_offset()};
  }
  AttentionDims ad{Hq, Hkv, Dh, d.attention_multiplier};
  backend_->attention(o, q, ad, cu_seqlens_.data(), n_seqs, views.data());
  backend_->matmul(out, o, T, lw.o);
}

void GraniteHybrid::feed_forward(const LayerWeights& lw, int64_t T, float* out) {
  const ModelDims& d = dims_;
  const float* v = u_.f32();
  float* gate = gate_.f32();
  float* up = up_.f32();
  backend_->matmul_swiglu(gate, up, v, T, lw.ffn_gate, lw.ffn_up);  // gate = silu(v·gate) * (v·up)
  backend_->matmul(out, gate, T, lw.ffn_down);
  if (!lw.has_moe) return;
  float* logits = router_logits_.f32();
  int32_t* ids = reinterpret_cast<int32_t*>(route_ids_.f32());
  float* weights = route_w_.f32();
  float* moe = moe_out_.f32();
  backend_->matmul(logits, v, T, lw.router);
  backend_->moe_route(ids, weights, logits, T, d.n_experts, d.top_k);
  backend_->moe_forward(moe, v, ids, weights, T, d.top_k, lw.moe);
  backend_->add_scaled(out, moe, 1.f, T * d.d_model);
}

void GraniteHybrid::compute_logits(const std::vector<StepSequence*>& batch) {
  const ModelDims& d = dims_;
  const int n_seqs = (int)batch.size();
  // Rows whose logits were asked for: all of a sequence's tokens, or its last.
  std::vector<int64_t> rows;
  for (int s = 0; s < n_seqs; s++) {
    if (batch[s]->all_logits)
      for (int64_t t = cu_seqlens_[s]; t < cu_seqlens_[s + 1]; t++) rows.push_back(t);
    else
      rows.push_back(cu_seqlens_[s + 1] - 1);
  }
  const int64_t R = (int64_t)rows.size();
  float* x = final_.f32();
  backend_->gather_rows(x, h_.f32(), rows.data(), R, d.d_model);
  backend_->rmsnorm(x, x, output_norm_, R, d.d_model, d.rms_norm_eps);
  float* dev_logits = logits_.f32();
  backend_->matmul(dev_logits, x, R, lm_head_);

  // Sequences that only want their greedy token get it picked where the
  // logits are (on a GPU: R ids cross the bus instead of R rows of vocab floats).
  bool any_picked = false;
  for (const StepSequence* sq : batch) any_picked = any_picked || picked_on_backend(*sq);
  logits_picked_ = any_picked &&
                   backend_->argmax(reinterpret_cast<int32_t*>(picked_.f32()), dev_logits, R, d.vocab,
                                    d.logits_scaling);
}

void GraniteHybrid::read_logits(const std::vector<StepSequence*>& batch) {
  const ModelDims& d = dims_;
  const int n_seqs = (int)batch.size();
  std::vector<int64_t> first_row(n_seqs + 1, 0);
  for (int s = 0; s < n_seqs; s++) first_row[s + 1] = first_row[s] + logits_rows(*batch[s]);
  const int64_t R = first_row[n_seqs];
  std::vector<int32_t> picked;
  if (logits_picked_) {
    picked.resize((size_t)R);
    backend_->download(picked.data(), picked_.data(), sizeof(int32_t) * (size_t)R);
  }
  const float* dev_logits = logits_.f32();
  // The other sequences' rows come back in runs of adjacent sequences.
  auto wants_logits = [&](int s) { return picked.empty() || !picked_on_backend(*batch[s]); };
  std::vector<float> run;
  for (int s = 0; s < n_seqs;) {
    if (!wants_logits(s)) {
      batch[s]->logits.clear();
      batch[s]->argmax = picked[(size_t)first_row[s]];
      s++;
      continue;
    }
    int e = s + 1;
    while (e < n_seqs && wants_logits(e)) e++;
    run.resize((size_t)((first_row[e] - first_row[s]) * d.vocab));
    backend_->download(run.data(), dev_logits + first_row[s] * d.vocab, sizeof(float) * run.size());
    for (float& l : run) l /= d.logits_scaling;  // a division (docs/MODEL.md, Forward pass)
    for (int q = s; q < e; q++) {
      batch[q]->argmax = -1;
      batch[q]->logits.assign(run.begin() + (first_row[q] - first_row[s]) * d.vocab,
                              run.begin() + (first_row[q + 1] - first_row[s]) * d.vocab);
    }
    s = e;
  }
}

}  // namespace hl
