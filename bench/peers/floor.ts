// The engine's floor: config "count" dynamic resources whose provider does
// nothing, so an up of them is Pulumi's own cost (CLI, language host,
// provider process, one check and diff each). Copied into a temporary
// project by bench/peers/index.ts.
import * as pulumi from "@pulumi/pulumi";

const noop: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: "noop", outs: inputs };
  },
};

class Noop extends pulumi.dynamic.Resource {
  constructor(name: string, n: number) {
    super(noop, name, { n });
  }
}

const count = new pulumi.Config().requireNumber("count");
for (let i = 0; i < count; i++) new Noop(`noop${i}`, i);
