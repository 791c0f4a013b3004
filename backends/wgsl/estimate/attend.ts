import type { Estimator } from "../../../ir/estimate/estimator.js";
import type { KernelLaunch } from "../../../ir/kernel/kernel.js";
import type { Sizes } from "../../../ir/pattern/eval-int.js";
import { checkScoreRange, type AttentionResult, type AttentionTensors } from "../../tensors.js";
import { estimatedLaunch, estimatorScoreTerms } from "../../estimated-input.js";
import type { WebGpuContext } from "../device.js";
import { readInputsBack, runAttention, type RunOptions } from "../run.js";
import { dispatchEstimator } from "./run.js";

/** An attention result and the runtime inputs the estimator chose, in `--input` JSON shapes. */
export interface EstimatedAttention extends AttentionResult {
  readonly inputs: Record<string, unknown>;
}

/**
 * estimate → build → attend in one call: the estimator writes the dynamic launch's inputs on the device, the
 * index builder and the attention kernel read them there. The chosen inputs are read back once (for checks
 * and for the caller); nothing the kernels use goes through the host.
 */
export async function runEstimatedAttention(
  context: WebGpuContext, estimator: Estimator, launches: readonly KernelLaunch[], tensors: AttentionTensors, sizes: Sizes, options: RunOptions = {},
): Promise<EstimatedAttention> {
  const launch = estimatedLaunch(launches);
  let inputs: Record<string, unknown> = {};
  const result = await runAttention(context, launches, tensors, sizes, {
    ...options,
    before: async (buffers) => {
      // The buffers checked the tensors for attention; the estimator's scores may sum more products.
      checkScoreRange(tensors, sizes, launch.kernel.headDim, estimatorScoreTerms(estimator));
      await options.before?.(buffers);
      await dispatchEstimator(context, estimator, launch, buffers);
      inputs = await readInputsBack(context, launch, buffers);
    },
  });
  return { ...result, inputs };
}
