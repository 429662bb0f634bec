// The project's Pulumi program: the stack's config picks the scenario and the
// hosts (the built-in lab by default).
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_LAB_NAME, labLayout } from "../lab/layout.ts";
import { demo } from "./demo.ts";

const config = new pulumi.Config();
const scenario = config.get("scenario") ?? "demo";
const lab = labLayout(config.get("lab") ?? DEFAULT_LAB_NAME);

const scenarios: Record<string, () => Record<string, unknown>> = {
  demo: () => demo(lab.hosts[0].spec, "demo0"),
};

const build = scenarios[scenario];
if (!build) throw new Error(`unknown scenario ${JSON.stringify(scenario)} in config ovs-offload-lab:scenario (known: ${Object.keys(scenarios).join(", ")})`);
export default build();
