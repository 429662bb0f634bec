// The offload stacks: see scenarios.ts.
import { scenarioSuite } from "./scenarios.ts";

scenarioSuite("offload");
