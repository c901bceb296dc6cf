// The decision core's exports. The host (src/engine/) instantiates this module with no imports, calls
// init(capacity) once, then reads ACTIVE/FLAGS and writes TRIED through typed views on `memory`.

export {
  init, initialised, regionOffset, regionBytes, headerField,
  MAP_BASE, HEADER_BYTES, SCRATCH_BYTES, SLOT_ALIGN, LANES, MAX_CAPACITY, LAYOUT_VERSION, MAGIC,
  FLAG_PRESENT, FLAG_HEALTHY, FLAG_LOCAL, FLAG_CIRCUIT_OPEN, FLAG_CANDIDATE, FLAG_PROBE_DOWN, NO_MATCH, REGION_COUNT,
  INIT_OK, INIT_BAD_CAPACITY, INIT_TWICE, INIT_NO_MEMORY, INIT_DATA_OVERLAP,
} from "./layout";
export { setSlot, clearSlot, setHealthy, setProbeDown, acquire, release } from "./slots";
export { selectBackend as select } from "./score";
