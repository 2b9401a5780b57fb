/**
 * Test helper: invariants every opened model must satisfy, returned as a list
 * of problems (empty = fine) so the fuzz test can collect them.
 */
import { ModelFiles } from '../../lib/loaders/types';

/** Frozen config and table, and every entry's bytes inside its file. */
export function modelFilesProblems(m: ModelFiles): string[] {
  const problems: string[] = [];
  const c = m.config;
  if (!Object.isFrozen(m) || !Object.isFrozen(c) || !Object.isFrozen(c.layer_types) || !Object.isFrozen(c.time_step_limit)) {
    problems.push('config or ModelFiles not frozen');
  }
  if (!Object.isFrozen(m.tensors) || !Object.isFrozen(m.files) || !Object.isFrozen(m.fileSizes)) {
    problems.push('tensor table or file list not frozen');
  }
  if (c.layer_types.length !== c.num_hidden_layers) problems.push('layer_types length != num_hidden_layers');
  if (c.mamba_n_heads * c.mamba_d_head !== c.mamba_d_inner) problems.push('H·P != d_inner');
  for (const e of m.tensors) {
    if (!Object.isFrozen(e) || !Object.isFrozen(e.shape)) problems.push(`${e.name}: entry not frozen`);
    const size = m.fileSizes[e.file];
    if (size === undefined) {
      problems.push(`${e.name}: file index ${e.file} out of range`);
      continue;
    }
    const rows = e.shape.length >= 2 ? e.shape[e.shape.length - 2] : 1;
    const mats = e.shape.length === 3 ? e.shape[0] : 1;
    const end = e.offset + (mats - 1) * e.matrixBytes + rows * e.rowBytes;
    if (!(e.offset >= 0) || !(end <= size)) problems.push(`${e.name}: bytes [${e.offset}, ${end}) outside file of ${size}`);
  }
  return problems;
}
