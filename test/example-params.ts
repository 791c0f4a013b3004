import fc from "fast-check";

/**
 * Random parameters for every static example, for the kernel property suites: windows, sinks and offsets
 * up to `reach` (tests pick lengths a few times past it, so bands, sinks and lines all show), strides and
 * dilations scaled to match. `duo` also needs its `retrieval` input, which the suites build per shape.
 */
export function staticExampleParams(reach: number): readonly (readonly [string, fc.Arbitrary<Record<string, number>>])[] {
  const small = fc.integer({ min: 0, max: reach });
  return [
    ["a_shape", fc.record({ sink: small, window: small })],
    ["sliding_window", fc.record({ window: small })],
    ["tri_shape", fc.record({ sink: small, window: small, last: small })],
    ["dilated", fc.record({ window: fc.integer({ min: 0, max: Math.ceil(reach / 3) }), dilation: fc.integer({ min: 1, max: Math.max(5, Math.ceil(reach / 20)) }) })],
    ["prefix_lm", fc.record({ prefix: small })],
    ["grid", fc.record({ stride: fc.integer({ min: 1, max: Math.ceil(reach / 2) }), phase: small, window: small })],
    ["ladder", fc.integer({ min: 1, max: 8 }).chain((group) => fc.record({ sink: small, window: small, group: fc.constant(group), keep: fc.integer({ min: 1, max: group }) }))],
    ["duo", fc.record({ sink: small, window: small })],
  ];
}
