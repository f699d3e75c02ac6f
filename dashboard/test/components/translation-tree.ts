/** Flattening of a translation bundle, shared by the translation tests. */
export type Tree = { [key: string]: string | Tree };

/** Every string of a bundle under its dotted key ('nav.alerts'). */
export function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of leaves(v, key)) out.set(kk, vv);
  }
  return out;
}

/** The `{{name}}` variables a string fills in, sorted. */
export const variables = (text: string) => [...text.matchAll(/{{(\w+)}}/g)].map((m) => m[1]).sort();
