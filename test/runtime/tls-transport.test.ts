// Runs the TLS listener conformance suite against the adapter of the runtime executing this file.
import { loadTransport } from "../../src/runtime/index.ts";
import { tlsTransportSuite } from "../_suites/tls-transport.ts";

tlsTransportSuite(await loadTransport());
