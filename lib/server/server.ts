/**
 * createServer: an OpenAI-compatible HTTP server (fastify) over a loaded
 * model. Routes: /v1/chat/completions, /v1/completions, /v1/models,
 * /tokenize, /detokenize, /health, /metrics (docs/SERVING.md).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Admission } from './admission';
import { ApiError, invalidField, toApiError } from './api-error';
import { chatCompletions } from './chat-completions';
import { completions } from './completions';
import { type ServerContext, type ServerState, engineFor, unixNow } from './context';
import type { ServingEngine } from './engine';
import { InFlightSet } from './in-flight';
import { defaultModelNameOfPath } from './model-name';
import { ServerMetrics } from './metrics';
import { type ResolvedServerOptions, type ServerOptions, resolveServerOptions } from './options';
import { detokenize, tokenize } from './tokenize';

/** The served model id when none is given (see defaultModelNameOfPath). */
export function defaultModelName(engine: ServingEngine | null): string {
  const file = engine?.files?.files[0];
  return file ? defaultModelNameOfPath(file) : 'hybridlm';
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Routes that answer without an API key. */
const OPEN_ROUTES = new Set(['/health']);

/** A running OpenAI-compatible server. */
export class HybridLMServer implements ServerContext {
  /** The fastify instance (add routes or hooks before listen()). */
  readonly app: FastifyInstance;
  readonly options: ResolvedServerOptions;
  readonly admission: Admission;
  readonly metrics: ServerMetrics;
  readonly inflight = new InFlightSet();
  /** Resolves once the model is loaded (rejects if loading failed). */
  readonly ready: Promise<void>;
  private stateValue: ServerState = 'loading';
  private engine: ServingEngine | null = null;
  private draining: Promise<void> | null = null;

  /** @internal use createServer() */
  constructor(model: ServingEngine | Promise<ServingEngine>, options: ServerOptions) {
    const given = model instanceof Promise ? null : model;
    this.options = resolveServerOptions(options, defaultModelName(given));
    this.admission = new Admission(this.options.maxSequences, this.options.maxQueue);
    this.metrics = new ServerMetrics(this.admission, () => this.engine);
    this.app = Fastify({
      logger: this.options.logger,
      bodyLimit: this.options.maxBodyBytes,
      return503OnClosing: false,
      // drain() closes only once no request is in flight, so every connection left is idle.
      forceCloseConnections: true,
    });
    this.routes();
    this.ready = Promise.resolve(model).then(
      (engine) => {
        this.engine = engine;
        if (this.stateValue === 'loading') this.stateValue = 'ready';
      },
      (err) => {
        this.stateValue = 'failed';
        throw err;
      },
    );
    this.ready.catch(() => undefined);
  }

  get state(): ServerState {
    return this.stateValue;
  }

  get loaded(): ServingEngine | null {
    return this.engine;
  }

  /** The Node http.Server (to mount or inspect; listen() starts it). */
  get server(): Server {
    return this.app.server;
  }

  /** Starts listening; resolves the address, e.g. `http://127.0.0.1:8080`. */
  async listen(options: { host?: string; port?: number } = {}): Promise<string> {
    const host = options.host ?? '127.0.0.1';
    await this.app.listen({ host, port: options.port ?? 8080 });
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') return String(addr);
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${h}:${addr.port}`;
  }

  /**
   * Graceful stop: /health turns 503, new requests get 503, in-flight
   * requests get `drainTimeoutMs` to finish (then they are cancelled), then
   * the listener and every connection close. The model is not disposed (its owner does that).
   */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      this.stateValue = 'draining';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.drainTimeoutMs);
      });
      await Promise.race([this.inflight.whenEmpty(), timeout]);
      clearTimeout(timer);
      this.inflight.cancelAll('shutdown');
      await this.inflight.whenEmpty();
      await this.app.close();
    })();
    return this.draining;
  }

  private routes(): void {
    const app = this.app;
    // Any content type is read as JSON (curl -d sends form encoding by default).
    app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
    app.addHook('onRequest', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unknown';
      reply.raw.once('close', () => this.metrics.requests.inc({ endpoint: route, status: String(reply.raw.statusCode) }));
      const url = req.url.split('?')[0];
      if (this.options.apiKey !== null && !OPEN_ROUTES.has(url)) {
        const header = req.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
        if (!timingSafeEqual(digest(given), digest(this.options.apiKey))) {
          throw new ApiError(401, 'invalid or missing API key: send Authorization: Bearer <key>', 'invalid_request_error', 'invalid_api_key');
        }
      }
    });
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      const e = httpError(err);
      void reply.code(e.status).headers(e.headers).send(e.body());
    });
    app.setNotFoundHandler((req, reply) => {
      const e = new ApiError(404, `no route ${req.method} ${req.url.split('?')[0]}`, 'invalid_request_error', 'not_found');
      void reply.code(404).send(e.body());
    });

    app.get('/health', async (_req, reply) => {
      const ok = this.stateValue === 'ready';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : this.stateValue });
    });
    app.get('/metrics', async (_req, reply) => {
      const { body, contentType } = await this.metrics.scrape();
      return reply.header('Content-Type', contentType).send(body);
    });
    const modelCard = () => ({ id: this.options.modelName, object: 'model', created: unixNow(), owned_by: 'hybridlm', max_model_len: this.options.contextLength });
    app.get('/v1/models', async () => {
      engineFor(this);
      return { object: 'list', data: [modelCard()] };
    });
    app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
      engineFor(this);
      if (req.params.id !== this.options.modelName) {
        throw new ApiError(404, `The model '${req.params.id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
      }
      return modelCard();
    });
    app.post('/v1/chat/completions', (req, reply) => chatCompletions(this, req, reply));
    app.post('/v1/completions', (req, reply) => completions(this, req, reply));
    app.post('/tokenize', async (req) => tokenize(this, req));
    app.post('/detokenize', async (req) => detokenize(this, req));
  }
}

/** Maps fastify's own errors (body parsing, limits) to OpenAI error bodies. */
function httpError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, `the request body is larger than the limit (${err.message})`, 'invalid_request_error', 'request_too_large', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidField('body', `the request body is not valid JSON: ${err.message}`, 'invalid_json');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidField('body', err.message, 'invalid_body');
    default:
      break;
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return invalidField('body', `the request body is not valid JSON: ${err.message}`, 'invalid_json');
  return toApiError(err);
}

/**
 * An OpenAI-compatible server over `model` (a loaded Model, or a promise of
 * one: /health answers 503 until it resolves). Call `listen()` to start it;
 * `server.app` is the fastify instance and `server.server` the http.Server.
 */
export function createServer(model: ServingEngine | Promise<ServingEngine>, options: ServerOptions = {}): HybridLMServer {
  return new HybridLMServer(model, options);
}
