// Netns: a network namespace (`ip netns add`).
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hostLabel, type HostSpec } from "./host.ts";
import { addNetns, deleteNetns, netnsNames } from "./ip.ts";
import { lazyProvider } from "./loader.ts";
import { dynamicProvider, ownerOf, PROVIDER_VERSION, TYPE_MODULE, type Identity } from "./resource.ts";
import { hostSpec, netnsName } from "./schema.ts";

export interface NetnsArgs {
  /** The machine. Replaces. */
  host: pulumi.Input<HostSpec>;
  /** Namespace name, e.g. "ns1". Replaces. */
  name: pulumi.Input<string>;
}

export interface NetnsInputs extends Identity {
  host: HostSpec;
  name: string;
}

export const netnsSchema = z.object({ host: hostSpec, name: netnsName, owner: z.string().min(1), providerVersion: z.string() }).strict();

export const netnsProvider = dynamicProvider<NetnsInputs, NetnsInputs>(
  {
    schema: netnsSchema,
    replaceOn: ["host", "name"],
    deleteBeforeReplace: true,
    idOf: (n) => n.name,
    async create(n) {
      // A namespace carries no owner mark: one that exists is not taken over.
      if ((await netnsNames(n.host)).includes(n.name)) {
        throw new Error(`network namespace ${n.name} already exists on ${hostLabel(n.host)}; delete it (ip netns del ${n.name}) or choose another name`);
      }
      await addNetns(n.host, n.name);
      return n;
    },
    async read(_id, props) {
      return (await netnsNames(props.host)).includes(props.name) ? props : undefined;
    },
    async update(_id, _olds, news) {
      return news;
    },
    async delete(_id, props) {
      if ((await netnsNames(props.host)).includes(props.name)) await deleteNetns(props.host, props.name);
    },
  },
  ["host", "name", "owner", "providerVersion"],
);

/** A network namespace. Links moved into it (NetnsLink) depend on it and go back first. */
export class Netns extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: NetnsArgs, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("Netns"), name, { ...args, owner: ownerOf("Netns", name), providerVersion: PROVIDER_VERSION }, opts, TYPE_MODULE, "Netns");
  }
}
