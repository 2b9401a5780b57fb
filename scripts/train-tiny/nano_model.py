"""A GraniteMoeHybridForCausalLM-shaped model in plain torch, parameter names
as in a Hugging Face checkpoint, computing what hybridlm computes
(docs/MODEL.md): Mamba-2 mixers with grouped B/C and a per-group gated
RMSNorm, NoPE GQA attention scaled by attention_multiplier, a shared SwiGLU
MLP plus top-k routed experts, and Granite's four multipliers.

The Mamba-2 scan is evaluated in its quadratic (single-chunk SSD) form, which
is exact: y_i = sum_{j<=i} exp(s_i - s_j) (C_i . B_j) dt_j x_j + D x_i with
s the running sum of dt * A.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "architectures": ["GraniteMoeHybridForCausalLM"],
    "model_type": "granitemoehybrid",
    "vocab_size": 2048,
    "hidden_size": 128,
    "num_hidden_layers": 6,
    "layer_types": ["mamba", "mamba", "mamba", "attention", "mamba", "mamba"],
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attention_multiplier": 1.0 / 32,
    "embedding_multiplier": 12.0,
    "residual_multiplier": 0.22,
    "logits_scaling": 2.0,
    "mamba_n_heads": 8,
    "mamba_d_head": 32,
    "mamba_d_state": 32,
    "mamba_n_groups": 2,
    "mamba_d_conv": 4,
    "mamba_expand": 2,
    "mamba_chunk_size": 256,
    "mamba_conv_bias": True,
    "mamba_proj_bias": False,
    "num_local_experts": 4,
    "num_experts_per_tok": 2,
    "intermediate_size": 64,
    "shared_intermediate_size": 256,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-5,
    "normalization_function": "rmsnorm",
    "position_embedding_type": "nope",
    "rope_theta": 10000,
    "tie_word_embeddings": True,
    "max_position_embeddings": 8192,
    "output_router_logits": False,
    "router_aux_loss_coef": 0.01,
    "initializer_range": 0.02,
    "use_cache": True,
    "torch_dtype": "float16",
}


class RMSNorm(nn.Module):
    def __init__(self, n, eps, groups=1):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps, self.groups = eps, groups

    def forward(self, x):
        shape = x.shape
        g = x.reshape(*shape[:-1], self.groups, shape[-1] // self.groups)
        g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + self.eps)
        return g.reshape(shape) * self.weight


class Mamba2(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["hidden_size"]
        self.H, self.P, self.N, self.G = c["mamba_n_heads"], c["mamba_d_head"], c["mamba_d_state"], c["mamba_n_groups"]
        self.K = c["mamba_d_conv"]
        self.d_inner = self.H * self.P
        assert self.d_inner == c["mamba_expand"] * D
        self.C = self.d_inner + 2 * self.G * self.N
        self.in_proj = nn.Linear(D, self.d_inner + self.C + self.H, bias=False)
        self.conv1d = nn.Conv1d(self.C, self.C, self.K, groups=self.C, bias=True)
        # dt in [1e-3, 1e-1] log-uniformly at init, A in [1, 16] (Mamba-2's init).
        dt = torch.exp(torch.rand(self.H) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(self.H).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(self.H))
        self.norm = RMSNorm(self.d_inner, c["rms_norm_eps"], self.G)
        self.out_proj = nn.Linear(self.d_inner, D, bias=False)

    def forward(self, u):
        Bsz, T, _ = u.shape
        H, P, N, G = self.H, self.P, self.N, self.G
        p = self.in_proj(u)
        z, xBC, dt = p.split([self.d_inner, self.C, H], dim=-1)
        # Causal depthwise conv: tap K-1 is the current token (cross-correlation).
        xBC = F.conv1d(F.pad(xBC.transpose(1, 2), (self.K - 1, 0)), self.conv1d.weight, self.conv1d.bias, groups=self.C)
        xBC = F.silu(xBC.transpose(1, 2))
        x, B, C = xBC.split([self.d_inner, G * N, G * N], dim=-1)
        x = x.reshape(Bsz, T, H, P)
        B = B.reshape(Bsz, T, G, N)
        C = C.reshape(Bsz, T, G, N)
        dt = F.softplus(dt + self.dt_bias)  # threshold 20, as the runtime
        A = -torch.exp(self.A_log)
        s = torch.cumsum(dt * A, dim=1).transpose(1, 2)  # [B, H, T]
        diff = s.unsqueeze(-1) - s.unsqueeze(-2)  # s_i - s_j
        causal = torch.ones(T, T, dtype=torch.bool, device=u.device).tril()
        decay = torch.exp(diff.masked_fill(~causal, float("-inf")))  # [B, H, T, T]
        # Head h reads group h // (H/G): heads of one group are consecutive.
        cb = torch.einsum("bign,bjgn->bgij", C, B).unsqueeze(2)  # [B, G, 1, T, T]
        m = (decay * dt.transpose(1, 2).unsqueeze(-2)).view(Bsz, G, H // G, T, T) * cb
        y = (m.view(Bsz, H, T, T) @ x.transpose(1, 2)).transpose(1, 2) + self.D.view(1, 1, H, 1) * x
        y = y.reshape(Bsz, T, self.d_inner) * F.silu(z)
        return self.out_proj(self.norm(y))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["hidden_size"]
        self.nq, self.nkv = c["num_attention_heads"], c["num_key_value_heads"]
        self.dh = D // self.nq
        self.scale = c["attention_multiplier"]
        self.q_proj = nn.Linear(D, self.nq * self.dh, bias=False)
        self.k_proj = nn.Linear(D, self.nkv * self.dh, bias=False)
        self.v_proj = nn.Linear(D, self.nkv * self.dh, bias=False)
        self.o_proj = nn.Linear(self.nq * self.dh, D, bias=False)

    def forward(self, u):
        Bsz, T, _ = u.shape
        q = self.q_proj(u).view(Bsz, T, self.nq, self.dh).transpose(1, 2)
        rep = self.nq // self.nkv
        # Query head i reads kv head i // rep.
        k = self.k_proj(u).view(Bsz, T, self.nkv, 1, self.dh).expand(-1, -1, -1, rep, -1)
        v = self.v_proj(u).view(Bsz, T, self.nkv, 1, self.dh).expand(-1, -1, -1, rep, -1)
        k = k.reshape(Bsz, T, self.nq, self.dh).transpose(1, 2)
        v = v.reshape(Bsz, T, self.nq, self.dh).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) * self.scale  # attention_multiplier replaces 1/sqrt(dh)
        causal = torch.ones(T, T, dtype=torch.bool, device=u.device).tril()
        probs = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        return self.o_proj((probs @ v).transpose(1, 2).reshape(Bsz, T, self.nq * self.dh))


class SharedMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, F_s = c["hidden_size"], c["shared_intermediate_size"]
        self.input_linear = nn.Linear(D, 2 * F_s, bias=False)  # gate rows first, then up
        self.output_linear = nn.Linear(F_s, D, bias=False)

    def forward(self, v):
        gate, up = self.input_linear(v).chunk(2, dim=-1)
        return self.output_linear(F.silu(gate) * up)


class ExpertWeight(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(*shape).uniform_(-1, 1) / math.sqrt(shape[-1]))


class Router(nn.Module):
    def __init__(self, D, E):
        super().__init__()
        self.layer = nn.Linear(D, E, bias=False)


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, E, F_e = c["hidden_size"], c["num_local_experts"], c["intermediate_size"]
        self.E, self.k, self.F_e = E, c["num_experts_per_tok"], F_e
        self.router = Router(D, E)
        self.input_linear = ExpertWeight(E, 2 * F_e, D)
        self.output_linear = ExpertWeight(E, D, F_e)

    def forward(self, v):
        logits = self.router.layer(v)  # [..., E]
        top, idx = logits.topk(self.k, dim=-1)
        gates = torch.zeros_like(logits).scatter(-1, idx, torch.softmax(top, dim=-1))
        # Every expert on every token (E is small); unselected ones get gate 0.
        h = torch.einsum("...d,efd->...ef", v, self.input_linear.weight)
        gate, up = h.split(self.F_e, dim=-1)
        y = torch.einsum("...ef,edf->...ed", F.silu(gate) * up, self.output_linear.weight)
        out = (gates.unsqueeze(-1) * y).sum(-2)
        # Switch-style load balancing: fraction routed to e times mean router probability of e.
        frac = (gates > 0).float().reshape(-1, self.E).mean(0)
        prob = torch.softmax(logits, dim=-1).reshape(-1, self.E).mean(0)
        aux = self.E * (frac * prob).sum() / self.k
        return out, aux


class DecoderLayer(nn.Module):
    def __init__(self, c, kind):
        super().__init__()
        D, eps = c["hidden_size"], c["rms_norm_eps"]
        self.kind = kind
        self.input_layernorm = RMSNorm(D, eps)
        self.post_attention_layernorm = RMSNorm(D, eps)
        if kind == "mamba":
            self.mamba = Mamba2(c)
        else:
            self.self_attn = Attention(c)
        self.shared_mlp = SharedMLP(c)
        self.block_sparse_moe = MoE(c)
        self.m_res = c["residual_multiplier"]

    def forward(self, h):
        u = self.input_layernorm(h)
        a = self.mamba(u) if self.kind == "mamba" else self.self_attn(u)
        h = h + self.m_res * a
        v = self.post_attention_layernorm(h)
        moe, aux = self.block_sparse_moe(v)
        h = h + self.m_res * (self.shared_mlp(v) + moe)
        return h, aux


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        nn.init.normal_(self.embed_tokens.weight, std=c["initializer_range"])
        self.layers = nn.ModuleList(DecoderLayer(c, k) for k in c["layer_types"])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class NanoGraniteHybrid(nn.Module):
    """Tied-embedding causal LM; forward returns (logits, router aux loss)."""

    def __init__(self, c=CONFIG):
        super().__init__()
        self.config = c
        self.model = Backbone(c)

    def forward(self, ids):
        h = self.model.embed_tokens(ids) * self.config["embedding_multiplier"]
        aux = 0.0
        for layer in self.model.layers:
            h, a = layer(h)
            aux = aux + a
        logits = self.model.norm(h) @ self.model.embed_tokens.weight.t()
        return logits / self.config["logits_scaling"], aux / len(self.model.layers)


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
