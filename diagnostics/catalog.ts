/**
 * Every diagnostic Stipple can report, with its stable code. Codes never change meaning once published:
 * tools and tests match on them. Ranges: STP0xx syntax, STP1xx names and structure, STP2xx types and
 * analysability, STP3xx binding (parameters, inputs, lengths), STP4xx warnings about the kept set, STP5xx
 * backends (what a target cannot do), STP9xx environment (files, limits, tools).
 */
export const catalog = {
  STP001: { severity: "error", title: "unexpected character" },
  STP002: { severity: "error", title: "syntax error" },
  STP101: { severity: "error", title: "unknown name" },
  STP102: { severity: "error", title: "unknown pattern" },
  STP103: { severity: "error", title: "wrong number of arguments" },
  STP104: { severity: "error", title: "duplicate pattern" },
  STP105: { severity: "error", title: "duplicate parameter" },
  STP106: { severity: "error", title: "name shadows a built-in" },
  STP107: { severity: "error", title: "recursive pattern" },
  STP108: { severity: "error", title: "unknown or repeated named argument" },
  STP109: { severity: "error", title: "cannot read imported file" },
  STP201: { severity: "error", title: "type mismatch" },
  STP202: { severity: "error", title: "non-affine expression" },
  STP203: { severity: "error", title: "division by a non-constant" },
  STP204: { severity: "error", title: "division by a value that may be zero or negative" },
  STP205: { severity: "error", title: "runtime input used with the wrong shape" },
  STP206: { severity: "error", title: "per-position ids used outside an equality" },
  STP207: { severity: "error", title: "runtime input argument mismatch" },
  STP208: { severity: "error", title: "invalid parameter declaration" },
  STP209: { severity: "error", title: "invalid estimator" },
  STP301: { severity: "error", title: "unknown parameter" },
  STP302: { severity: "error", title: "parameter value is not an integer" },
  STP303: { severity: "error", title: "parameter out of range" },
  STP304: { severity: "error", title: "missing runtime input" },
  STP305: { severity: "error", title: "runtime input has the wrong shape" },
  STP306: { severity: "error", title: "cannot read runtime input" },
  STP307: { severity: "error", title: "no such pattern in file" },
  STP308: { severity: "error", title: "several patterns: choose one" },
  STP309: { severity: "error", title: "divisor is not positive for these parameters" },
  STP310: { severity: "error", title: "invalid lengths" },
  STP311: { severity: "error", title: "head or layer out of range" },
  STP312: { severity: "error", title: "too large to evaluate" },
  STP313: { severity: "error", title: "missing parameter value" },
  STP314: { severity: "error", title: "estimator does not fit the pattern" },
  STP315: { severity: "error", title: "arithmetic outside 32-bit integers" },
  STP316: { severity: "error", title: "tensor value not finite or out of range" },
  STP317: { severity: "error", title: "too large for the device" },
  STP401: { severity: "warning", title: "pattern keeps nothing" },
  STP501: { severity: "error", title: "not supported by the CUDA backend" },
  STP901: { severity: "error", title: "cannot read file" },
  STP902: { severity: "error", title: "invalid command-line value" },
  STP903: { severity: "error", title: "no WebGPU adapter" },
  STP904: { severity: "error", title: "CUDA compilation failed" },
  STP905: { severity: "error", title: "no usable CUDA device" },
  STP906: { severity: "error", title: "CUDA driver call failed" },
} as const;

export type DiagnosticCode = keyof typeof catalog;
export type Severity = "error" | "warning";
