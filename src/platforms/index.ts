import { dciPlatform } from "./dci/index.js";
import { netprofilerPlatform } from "./netprofiler/index.js";
import { ovcPlatform } from "./ovc/index.js";
import { squonkPlatform } from "./squonk/index.js";
import { ssmcmPlatform } from "./ssmcm/index.js";

/**
 * The registry: one line per platform, in the order tools are listed. Only the composition root
 * (src/cli.ts) and the test harness import it; they hand it to everything else.
 */
export const PLATFORMS = [
  ssmcmPlatform,
  dciPlatform,
  squonkPlatform,
  ovcPlatform,
  netprofilerPlatform,
] as const;
