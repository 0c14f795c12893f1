/** The backend contract suite against a real private SLURM cluster, sbatch on this host (LocalTransport). */
import { runBackendContract } from "../contract";
import { clusterPerFile, slurmContractHarness } from "./harness";

const cluster = clusterPerFile({ gpus: 2 });
runBackendContract("slurm via LocalTransport (private cluster)", slurmContractHarness(cluster, "local"), { tornLines: true, adopt: true });
