/**
 * Prometheus metrics of one server (its own registry, so several servers in
 * one process do not collide). Gauges are read from the admission queue and
 * the engine at scrape time; counters and histograms are fed as requests
 * run. The `vllm:` names are aliases the Gateway API Inference Extension's
 * endpoint picker reads by default (docs/SERVING.md).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Admission } from './admission';
import type { ModelMemory } from '../model';
import type { ServingEngine } from './engine';

/** KV pages in use and the most the budget allows now (the pages held plus those the free bytes would buy). */
function kvPages(m: ModelMemory): { used: number; capacity: number } {
  if (m.kvPageBytes <= 0) return { used: m.kvPages, capacity: 0 };
  return { used: m.kvPages, capacity: m.kvPages + Math.floor(m.free / m.kvPageBytes) };
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly promptTokens: Counter;
  readonly cachedPromptTokens: Counter;
  readonly generationTokens: Counter;
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly timeToFirstToken: Histogram;
  readonly interTokenLatency: Histogram;
  readonly requestDuration: Histogram;

  constructor(admission: Admission, engine: () => ServingEngine | null) {
    const r = this.registry;
    const memory = (): ModelMemory | null => {
      const e = engine();
      return e && !e.isDisposed ? e.memory() : null;
    };
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    const running = () => admission.running;
    const waiting = () => admission.waiting;
    const kvUsage = () => {
      const m = memory();
      if (!m) return 0;
      const { used, capacity } = kvPages(m);
      return capacity > 0 ? used / capacity : 0;
    };
    gauge('hybridlm_requests_running', 'Requests holding sequences (generating).', running);
    gauge('hybridlm_requests_waiting', 'Requests queued for a sequence.', waiting);
    gauge('hybridlm_sequences_live', 'Live sequences in the engine.', () => memory()?.sequences ?? 0);
    gauge('hybridlm_state_slots_in_use', 'Sequence slots held by running requests.', () => admission.slotsInUse);
    gauge('hybridlm_state_slots_capacity', 'Sequence slots the server admits at once (--max-sequences).', () => admission.capacity);
    gauge('hybridlm_kv_pages_in_use', 'KV-cache pages in use.', () => memory()?.kvPages ?? 0);
    gauge('hybridlm_kv_pages_capacity', 'KV-cache pages the memory budget allows (held + what the free bytes buy).', () => {
      const m = memory();
      return m ? kvPages(m).capacity : 0;
    });
    gauge('hybridlm_kv_cache_usage_ratio', 'KV pages in use / capacity.', kvUsage);
    const bytes = new Gauge({
      name: 'hybridlm_memory_bytes',
      help: 'Bytes the model holds, by kind.',
      labelNames: ['kind'] as const,
      registers: [r],
      collect() {
        const m = memory();
        this.set({ kind: 'weights' }, m?.weights ?? 0);
        this.set({ kind: 'recurrent_state' }, m?.recurrentState ?? 0);
        this.set({ kind: 'kv_cache' }, m?.kvCache ?? 0);
        this.set({ kind: 'prefix_cache' }, m?.prefixCache ?? 0);
        this.set({ kind: 'scratch' }, m?.scratch ?? 0);
        this.set({ kind: 'pooled' }, m?.pooled ?? 0);
      },
    });
    void bytes;
    gauge('hybridlm_memory_budget_bytes', 'The memory budget.', () => memory()?.budget ?? 0);
    gauge('hybridlm_memory_free_bytes', 'Bytes left under the budget.', () => memory()?.free ?? 0);
    const cacheStats = () => {
      const e = engine();
      return e && !e.isDisposed && e.prefixCache ? e.prefixCache.stats() : null;
    };
    const counterFrom = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counterFrom('hybridlm_prefix_cache_hits_total', 'Prompts that restored a cached prefix state.', () => cacheStats()?.hits ?? 0);
    counterFrom('hybridlm_prefix_cache_misses_total', 'Prompts that found no cached prefix state.', () => cacheStats()?.misses ?? 0);
    counterFrom('hybridlm_prefix_cache_tokens_reused_total', 'Prompt tokens restored from the prefix cache.', () => cacheStats()?.tokensReused ?? 0);
    gauge('hybridlm_prefix_cache_bytes', 'Bytes held by the prefix cache.', () => cacheStats()?.bytes ?? 0);
    gauge('hybridlm_prefix_cache_entries', 'Entries in the prefix cache.', () => cacheStats()?.entries ?? 0);

    this.promptTokens = new Counter({ name: 'hybridlm_prompt_tokens_total', help: 'Prompt tokens of finished requests.', registers: [r] });
    this.cachedPromptTokens = new Counter({ name: 'hybridlm_cached_prompt_tokens_total', help: 'Prompt tokens served from the prefix cache.', registers: [r] });
    this.generationTokens = new Counter({ name: 'hybridlm_generation_tokens_total', help: 'Tokens generated.', registers: [r] });
    this.requests = new Counter({ name: 'hybridlm_requests_total', help: 'Requests answered, by endpoint and HTTP status.', labelNames: ['endpoint', 'status'], registers: [r] });
    this.timeToFirstToken = new Histogram({
      name: 'hybridlm_time_to_first_token_seconds',
      help: 'From request arrival to its first generated token (queue wait included).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [r],
    });
    this.interTokenLatency = new Histogram({
      name: 'hybridlm_inter_token_latency_seconds',
      help: 'Time between consecutive generated tokens of a choice.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.requestDuration = new Histogram({
      name: 'hybridlm_request_duration_seconds',
      help: 'From request arrival to the end of its response.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [r],
    });

    // Aliases under the names vLLM exports (what Inference Extension endpoint pickers scrape).
    gauge('vllm:num_requests_running', 'Alias of hybridlm_requests_running.', running);
    gauge('vllm:num_requests_waiting', 'Alias of hybridlm_requests_waiting.', waiting);
    gauge('vllm:kv_cache_usage_perc', 'Alias of hybridlm_kv_cache_usage_ratio (fraction in [0, 1]).', kvUsage);
    gauge('vllm:gpu_cache_usage_perc', 'Older vLLM name of vllm:kv_cache_usage_perc.', kvUsage);
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
