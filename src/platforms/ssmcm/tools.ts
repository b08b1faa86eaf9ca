import { z } from "zod";
import { defineTool, listAnswer, type PlatformTool, READ_ONLY } from "../../tools/define.js";
import { SSMCM_API_BASE } from "./profile.js";

const DEFAULT_LIMIT = 10;
const BUCKET_LIST = listAnswer("a bucket list");
const BUCKETS = `${SSMCM_API_BASE}/aws/s3`;

const listS3BucketsTool = defineTool({
  name: "ssmcm_list_s3_buckets",
  title: "List SSMCM S3 buckets",
  description:
    "AWS S3 buckets in SSMCM's multicloud inventory: name, region, account, size, objects, public flag, tags. search matches text.",
  input: { search: z.string().optional().describe("Text to search for, e.g. a name part or region") },
  list: { defaultLimit: DEFAULT_LIMIT },
  annotations: READ_ONLY,
  requests: () => [{ method: "GET", path: BUCKETS }],
  async handler({ search, limit = DEFAULT_LIMIT, offset = 0 }, { session }) {
    // The vendor's sample pages with `length`; `start` and `search` follow the DataTables convention its
    // tables use (upstreams.md section 1: unverified, and unknown parameters are ignored upstream).
    const list = await session.request(
      { method: "GET", path: BUCKETS, query: { length: limit, start: offset, search: search || undefined } },
      BUCKET_LIST,
    );
    // An instance that ignored `length`/`start` sent everything: page it here instead.
    if (list.total === undefined && list.items.length > limit) return { items: list.items };
    return { ...list, pagedUpstream: true };
  },
});

export const ssmcmTools: PlatformTool[] = [listS3BucketsTool];
