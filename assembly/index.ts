// The decision core's exports. The host (src/engine/) creates one shared WebAssembly.Memory, imports it
// into every instance (one per thread), calls init(...) once on it and attach(lane) in each instance,
// then reads ACTIVE/FLAGS and writes TRIED and the lane's KEY through typed views on that memory.

export {
  init, attach, initialised, regionOffset, regionBytes, areaOffset, headerField,
  MAP_BASE, HEADER_BYTES, LANE_BYTES, SCRATCH_BYTES, LANE_KEY, SLOT_ALIGN, LANES, MAX_CAPACITY, MAX_LANES, LAYOUT_VERSION, MAGIC,
  MAX_BUCKETS, MIN_BUCKETS, BUCKET_BYTES, MAX_AFFINITY, AFFINITY_BYTES, CIRCUIT_BYTES,
  FLAG_PRESENT, FLAG_HEALTHY, FLAG_LOCAL, FLAG_CIRCUIT_OPEN, FLAG_CANDIDATE, FLAG_PROBE_DOWN, NO_MATCH, REGION_COUNT,
  INIT_OK, INIT_BAD_CAPACITY, INIT_TWICE, INIT_NO_MEMORY, INIT_DATA_OVERLAP, INIT_BAD_BUCKETS, INIT_BAD_LANES,
  INIT_BAD_AFFINITY, INIT_BAD_PUBLISH, INIT_NOT_LAID_OUT, INIT_BAD_LANE, INIT_BAD_VERSION,
} from "./layout";
export { setSlot, clearSlot, setHealthy, setProbeDown, acquire, release, incarnation } from "./slots";
export { selectBackend as select } from "./score";
export { circuitAdmit, circuitSuccess, circuitFailure, advanceCircuit, resetCircuits, circuitState } from "./circuit";
export { takeToken, seedBuckets, PROBE_WINDOW, TOKEN_SLACK } from "./token-bucket";
export { affinityLookup, affinityBind, affinityUnbind, affinityGc } from "./affinity";
