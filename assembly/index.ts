// The decision core's exports. The host (src/engine/) instantiates this module with no imports, calls
// init(capacity, bucketCapacity) once, then reads ACTIVE/FLAGS/CIRCUIT and writes TRIED and the bucket
// KEY through typed views on `memory`.

export {
  init, initialised, regionOffset, regionBytes, headerField, bucketsOffset,
  MAP_BASE, HEADER_BYTES, SCRATCH_BYTES, SLOT_ALIGN, LANES, MAX_CAPACITY, LAYOUT_VERSION, MAGIC,
  MAX_BUCKETS, MIN_BUCKETS, BUCKET_HEAD_BYTES, BUCKET_BYTES, CIRCUIT_BYTES,
  FLAG_PRESENT, FLAG_HEALTHY, FLAG_LOCAL, FLAG_CIRCUIT_OPEN, FLAG_CANDIDATE, FLAG_PROBE_DOWN, NO_MATCH, REGION_COUNT,
  INIT_OK, INIT_BAD_CAPACITY, INIT_TWICE, INIT_NO_MEMORY, INIT_DATA_OVERLAP, INIT_BAD_BUCKETS,
} from "./layout";
export { setSlot, clearSlot, setHealthy, setProbeDown, acquire, release } from "./slots";
export { selectBackend as select } from "./score";
export { circuitAdmit, circuitSuccess, circuitFailure, advanceCircuit, resetCircuits, circuitState } from "./circuit";
export { takeToken, seedBuckets, PROBE_WINDOW } from "./token-bucket";
