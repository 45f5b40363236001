/** Kept for existing importers: the implementation lives in main/common/atomic-write.ts. */
export { writeAll, writeFileAtomic } from '../common/atomic-write.ts';
