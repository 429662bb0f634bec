// The classic stacks: see scenarios.ts.
import { scenarioSuite } from "./scenarios.ts";

scenarioSuite("classic");
