/**
 * The parameter names of a kernel, read off the CUDA source that defines it (`extern "C" __global__ void
 * … name(…)`), in order. Launchers outside Node (bench/gpu/compare_flex.py, through CuPy) build their
 * argument lists from these names, so a parameter added to a kernel cannot silently shift the ones after it.
 */
export function kernelParameters(source: string, name: string): string[] {
  const header = new RegExp(`extern "C" __global__ void (?:__launch_bounds__\\([^)]*\\) )?${name}\\(([^)]*)\\)`).exec(source);
  if (header === null) throw new Error(`no kernel ${name} in this source`);
  const list = header[1] ?? "";
  return list.split(",").map((parameter) => {
    const identifier = /([A-Za-z_]\w*)\s*$/.exec(parameter.trim());
    if (identifier === null) throw new Error(`cannot read a parameter name in "${parameter.trim()}" of ${name}`);
    return identifier[1] ?? "";
  });
}
