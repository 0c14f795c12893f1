/** The backend contract suite against a real private SLURM cluster, through ssh2 with a pinned host key. */
import { runBackendContract } from "../contract";
import { clusterPerFile, slurmContractHarness } from "./harness";

const cluster = clusterPerFile({ gpus: 2 });
runBackendContract("slurm over SSH (private cluster, pinned host key)", slurmContractHarness(cluster, "ssh"), { tornLines: true, adopt: true });
