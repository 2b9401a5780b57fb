/** Sampling, stop strings, the token loop and chat sessions (re-exports). */
export { Sampler, argmax, logprobsOf, type SamplingOptions, type TokenLogprob } from './sampling';
export { NativeSampler, sampleBatch, type SampleRow, type SampledToken } from './native-sampler';
export { StopStringMatcher } from './stop';
export { GenerationStream } from './generate';
export { ChatSession, type ChatSessionOptions } from './chat-session';
export type * from './types';
