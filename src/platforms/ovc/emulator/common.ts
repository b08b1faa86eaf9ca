/** Small helpers the portal and ItsYou.online share. */

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A comma-separated list (`scope`, `aud`, `actors`), without empty items. */
export function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
