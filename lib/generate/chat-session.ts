/**
 * A multi-turn conversation that keeps its Sequence between turns: turn N+1
 * prefills only the tokens it adds (the end of the previous reply, the new
 * messages, the generation prompt), never the whole history — the recurrent
 * state of the Mamba layers cannot be rolled back, so the session records
 * exactly which tokens it fed and re-encodes the conversation with its own
 * generated tokens to find the new suffix. When a turn cannot extend what
 * was fed (a stop string cut a reply mid-token, the template rewrote earlier
 * text), it resumes from a fork taken before the previous turn, or re-prefills.
 */
import { ArgumentError, BusyError, ModelFormatError } from '../errors';
import type { Sequence } from '../sequence';
import type { ChatDocument, ChatMessage, ChatTool } from '../tokenizer/types';
import { GenerationStream, checkGenerateOptions, newGenerationState, resultOf, runGeneration } from './generate';
import { Sampler } from './sampling';
import { chatResultOf } from './model-generate';
import type { ChatOptions, ChatResult, CompletionResult, GenerateOptions, GenerationModel } from './types';

/** Options of a {@link ChatSession}. */
export interface ChatSessionOptions {
  /** System prompt (the first, system message). Default none: the template's default applies. */
  system?: string;
  /** Tools offered in every turn. */
  tools?: readonly ChatTool[];
  /** Documents offered in every turn. */
  documents?: readonly ChatDocument[];
  /** Generation defaults for every turn (a turn's own options win). */
  defaults?: GenerateOptions;
}

const MAGIC = Buffer.from('HLCHAT01', 'latin1');

/** Whether `a` is a prefix of `b`. */
function isPrefix(a: readonly number[], b: readonly number[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ChatSession {
  private seq: Sequence;
  private history: ChatMessage[] = [];
  /** Tokens in `seq`, in order. */
  private fed: number[] = [];
  /** For assistant messages this session generated: their content's token ids. */
  private generated = new Map<number, number[]>();
  /** A fork of the state before the last turn, with its tokens (kept when that turn used stop strings). */
  private checkpoint: { seq: Sequence; fed: number[] } | null = null;
  private busy = false;
  private readonly options: ChatSessionOptions;

  /** @internal use model.createChatSession() */
  constructor(
    private readonly model: GenerationModel,
    options: ChatSessionOptions = {},
    sequence?: Sequence,
  ) {
    if (options.system !== undefined && typeof options.system !== 'string') {
      throw new ArgumentError(`Expected system to be a string, got ${typeof options.system}`);
    }
    this.options = options;
    this.seq = sequence ?? model.createSequence();
    this.resetHistory();
  }

  /** The conversation so far (assistant replies as generated, tool-call markup included). */
  get messages(): readonly ChatMessage[] {
    return this.history;
  }

  /** Every token the session's sequence has consumed. */
  get tokens(): readonly number[] {
    return this.fed;
  }

  /**
   * Adds a user message (a string) or messages (e.g. tool results) and
   * streams the assistant's reply. Iterate for pieces or await `.result`.
   */
  send(input: string | ChatMessage | readonly ChatMessage[], options: ChatOptions = {}): GenerationStream<ChatResult> {
    const added: ChatMessage[] =
      typeof input === 'string' ? [{ role: 'user', content: input }] : Array.isArray(input) ? [...input] : [input as ChatMessage];
    if (added.length === 0) throw new ArgumentError('Expected at least one message to send');
    if (this.busy) throw new BusyError('this chat session is already generating a reply; await it first');
    const opts: ChatOptions = { ...this.options.defaults, ...options };
    checkGenerateOptions(opts);
    new Sampler(opts, this.model.config.vocab_size); // validates the sampling options before the state moves
    const messages = [...this.history, ...added];
    const tok = this.model.tokenizer;
    const full = tok.encodeChatWith(
      messages,
      {
        tools: opts.tools ?? this.options.tools,
        documents: opts.documents ?? this.options.documents,
        templateVariables: opts.templateVariables,
        addGenerationPrompt: true,
      },
      this.generated,
    );
    this.resume(full);
    const useStops = opts.stop !== undefined && (typeof opts.stop === 'string' ? opts.stop !== '' : opts.stop.length > 0);
    const prompt = full.slice(this.fed.length);
    const state = newGenerationState();
    this.busy = true;
    const pending = useStops ? this.seq.fork() : null;
    const source = runGeneration(
      { seq: this.seq, prompt, context: full, tokenizer: tok, vocab: this.model.config.vocab_size, eos: tok.eosTokenId, options: { ...opts, sequence: undefined } },
      state,
    );
    const before = this.fed;
    // The fork (the state before this turn) becomes the checkpoint once the turn ends, however it ends.
    let fork: Sequence | null = null;
    let ended = false;
    const adopt = (f: Sequence) => {
      this.checkpoint?.seq.dispose();
      this.checkpoint = { seq: f, fed: before };
    };
    pending?.then(
      (f) => (ended ? adopt(f) : (fork = f)),
      () => undefined,
    );
    const end = () => {
      ended = true;
      this.busy = false;
      this.fed = [...before, ...state.fed];
      if (fork) adopt(fork);
      else if (!pending) {
        this.checkpoint?.seq.dispose();
        this.checkpoint = null;
      }
    };
    const finish = (r: CompletionResult | null): ChatResult => {
      const result = chatResultOf(r ?? resultOf(state, state.fed.length - state.decodeSteps));
      // The reply as the history keeps it: the exact text of its tokens, special ones included (a stop string cuts it short).
      const decoded = tok.decode(result.tokens);
      const content = result.stoppedBy && 'string' in result.stoppedBy ? result.text : decoded;
      this.history = [...messages, { role: 'assistant', content }];
      if (decoded === content) this.generated.set(this.history.length - 1, [...result.tokens]);
      return result;
    };
    return new GenerationStream<ChatResult>(source, finish, end);
  }

  /** Sends and waits for the whole reply. */
  prompt(input: string | ChatMessage | readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    return this.send(input, options).result;
  }

  /** Forgets the conversation (keeps the system prompt and options) and starts from an empty state. */
  reset(): void {
    if (this.busy) throw new BusyError('cannot reset while a reply is being generated');
    this.seq.dispose();
    this.seq = this.model.createSequence();
    this.checkpoint?.seq.dispose();
    this.checkpoint = null;
    this.fed = [];
    this.generated.clear();
    this.resetHistory();
  }

  /** Serialises the conversation and its state (restore with ChatSession.load on the same model). */
  async save(): Promise<Buffer> {
    if (this.busy) throw new BusyError('cannot save while a reply is being generated');
    const state = await this.seq.snapshot();
    const header = Buffer.from(
      JSON.stringify({
        options: { system: this.options.system, tools: this.options.tools, documents: this.options.documents },
        history: this.history,
        fed: this.fed,
        generated: [...this.generated.entries()],
      }),
      'utf8',
    );
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    return Buffer.concat([MAGIC, len, header, state]);
  }

  /** Restores a session saved by {@link save}; `defaults` apply to its turns. */
  static async load(model: GenerationModel, bytes: Uint8Array, defaults?: GenerateOptions): Promise<ChatSession> {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) {
      throw new ModelFormatError('not a hybridlm chat session file (bad magic)');
    }
    const n = buf.readUInt32LE(8);
    if (12 + n > buf.length) throw new ModelFormatError(`chat session file truncated: header of ${n} bytes, file of ${buf.length}`);
    let h: { options: ChatSessionOptions; history: ChatMessage[]; fed: number[]; generated: Array<[number, number[]]> };
    try {
      h = JSON.parse(buf.subarray(12, 12 + n).toString('utf8'));
    } catch (err) {
      throw new ModelFormatError(`chat session file: header is not JSON (${(err as Error).message})`, { cause: err });
    }
    const seq = await model.restoreSequence(buf.subarray(12 + n));
    if (seq.position !== h.fed.length) {
      seq.dispose();
      throw new ModelFormatError(`chat session file: state holds ${seq.position} tokens but the header lists ${h.fed.length}`);
    }
    const session = new ChatSession(model, { ...h.options, defaults }, seq);
    session.history = h.history;
    session.fed = h.fed;
    session.generated = new Map(h.generated);
    return session;
  }

  /** Frees the session's sequences. */
  dispose(): void {
    this.seq.dispose();
    this.checkpoint?.seq.dispose();
    this.checkpoint = null;
  }

  /** Makes `this.fed` a prefix of `full`: keep the state, go back to the checkpoint, or start over. */
  private resume(full: readonly number[]): void {
    if (isPrefix(this.fed, full) && this.fed.length < full.length) return;
    this.seq.dispose();
    const cp = this.checkpoint;
    this.checkpoint = null;
    if (cp && isPrefix(cp.fed, full) && cp.fed.length < full.length) {
      this.seq = cp.seq;
      this.fed = cp.fed;
      return;
    }
    cp?.seq.dispose();
    this.seq = this.model.createSequence();
    this.fed = [];
  }

  private resetHistory(): void {
    this.history = this.options.system !== undefined ? [{ role: 'system', content: this.options.system }] : [];
  }
}
