/**
 * Real shapes of the released Granite 4.0-H models (docs/MODEL.md, Configuration),
 * for synthetic random-weight models: benchmarks and memory estimates with
 * the true geometry, no download needed.
 */
export interface ModelShape {
  name: string;
  vocab: number;
  hidden: number;
  layers: number;
  attentionLayers: readonly number[];
  heads: number;
  kvHeads: number;
  mambaHeads: number;
  mambaHeadDim: number;
  dState: number;
  groups: number;
  dConv: number;
  experts: number;
  topK: number;
  expertFf: number;
  sharedFf: number;
  attentionMultiplier: number;
  residualMultiplier: number;
  logitsScaling: number;
  embeddingMultiplier: number;
}

const common = { vocab: 100352, dState: 128, groups: 1, dConv: 4, embeddingMultiplier: 12 };

export const MODEL_SHAPES: Readonly<Record<string, ModelShape>> = Object.freeze({
  'h-350m': { ...common, name: 'h-350m', hidden: 768, layers: 32, attentionLayers: [10, 13, 17, 27], heads: 12, kvHeads: 4,
    mambaHeads: 48, mambaHeadDim: 32, experts: 0, topK: 0, expertFf: 2048, sharedFf: 2048,
    attentionMultiplier: 0.015625, residualMultiplier: 0.246, logitsScaling: 3 },
  'h-1b': { ...common, name: 'h-1b', hidden: 1536, layers: 40, attentionLayers: [5, 15, 25, 35], heads: 12, kvHeads: 4,
    mambaHeads: 48, mambaHeadDim: 64, experts: 0, topK: 0, expertFf: 4096, sharedFf: 4096,
    attentionMultiplier: 0.0078125, residualMultiplier: 0.22, logitsScaling: 6 },
  'h-micro': { ...common, name: 'h-micro', hidden: 2048, layers: 40, attentionLayers: [5, 15, 25, 35], heads: 32, kvHeads: 8,
    mambaHeads: 64, mambaHeadDim: 64, experts: 0, topK: 0, expertFf: 8192, sharedFf: 8192,
    attentionMultiplier: 0.015625, residualMultiplier: 0.22, logitsScaling: 8 },
  'h-tiny': { ...common, name: 'h-tiny', hidden: 1536, layers: 40, attentionLayers: [5, 15, 25, 35], heads: 12, kvHeads: 4,
    mambaHeads: 48, mambaHeadDim: 64, experts: 64, topK: 6, expertFf: 512, sharedFf: 1024,
    attentionMultiplier: 0.0078125, residualMultiplier: 0.22, logitsScaling: 6 },
});

/** A toy shape with the real layout (Mamba + attention + MoE) for smoke tests: seconds, not minutes. */
export const TEST_TINY_SHAPE: ModelShape = {
  name: 'test-tiny',
  vocab: 512,
  hidden: 64,
  layers: 4,
  attentionLayers: [2],
  heads: 4,
  kvHeads: 2,
  mambaHeads: 8,
  mambaHeadDim: 16,
  dState: 16,
  groups: 1,
  dConv: 4,
  experts: 4,
  topK: 2,
  expertFf: 32,
  sharedFf: 64,
  attentionMultiplier: 0.0625,
  residualMultiplier: 0.5,
  logitsScaling: 2,
  embeddingMultiplier: 12,
};
