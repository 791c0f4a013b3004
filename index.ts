/**
 * Stipple's library API. The stages, in the order data flows through them:
 *   compileProgram (parse → check) → bindPattern (parameters, lengths, inputs) → evaluateMask / denseAttention
 * Planning and kernels build on the same Binding.
 */
export { compile, type CompileOptions, type CompiledPattern, type AttentionShape, type RunRequest } from "./compiler/compile.js";
export { compileProgram, selectPattern, type Program } from "./compiler/program.js";
export { memoryHost, loadProgram, type SourceHost } from "./compiler/load.js";
export { nodeHost } from "./compiler/node-host.js";
export { bindPattern, type LaunchShape, type BindRequest } from "./compiler/bind.js";
export type { Binding, BoundInput, InputLeaf } from "./ir/pattern/binding.js";
export { evaluateMask } from "./ir/mask/evaluate.js";
export { Bitset } from "./ir/mask/bitset.js";
export { denseAttention, type Tensor3, type ReferenceInputs, type ReferenceOutputs } from "./ir/reference/dense-attention.js";
export { dynamismOf, patternHash, type PatternDef } from "./ir/pattern/pattern.js";
export { printPatternDef, printNode } from "./ir/pattern/print.js";
export { renderDiagnostics, renderDiagnostic } from "./diagnostics/render.js";
export type { Diagnostic, Result } from "./diagnostics/diagnostic.js";
export { catalog as diagnosticCatalog } from "./diagnostics/catalog.js";
export { lowerAttention, type LowerOptions, type KernelVariant } from "./passes/lower.js";
export { planPattern } from "./passes/plan.js";
export { printKernel, type AttentionKernel, type KernelLaunch } from "./ir/kernel/kernel.js";
export { emitWgsl } from "./backends/wgsl/emit.js";
export { openWebGpu, type WebGpuContext } from "./backends/wgsl/device.js";
export { runAttention, dispatchAttention, buildTileIndexOnDevice, readInputsBack, AttentionBuffers } from "./backends/wgsl/run.js";
export { dispatchEstimator, type EstimatorOptions } from "./backends/wgsl/estimate/run.js";
export { runEstimatedAttention, type EstimatedAttention } from "./backends/wgsl/estimate/attend.js";
export { estimatorOf, estimatorCatalog } from "./ir/estimate/catalog.js";
export { printEstimator, type Estimator } from "./ir/estimate/estimator.js";
export { estimateVerticalSlash } from "./ir/estimate/vertical-slash.js";
export { estimateBlockTopK } from "./ir/estimate/block-top-k.js";
export type { AttentionTensors, AttentionResult } from "./backends/tensors.js";
export { emitCuda } from "./backends/cuda/emit.js";
export { compileCuda, type CompiledPtx } from "./backends/cuda/compile.js";
export { openCuda, type CudaContext } from "./backends/cuda/device.js";
export { runCudaAttention, timeCudaAttention, CudaAttentionBuffers } from "./backends/cuda/run.js";
export { readNpy, writeNpy } from "./util/npy.js";
