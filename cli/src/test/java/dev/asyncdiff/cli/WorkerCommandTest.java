package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WorkerCommandTest {
    @Test
    void aCommunicatorWithoutWorkerProcessesIsAUsageError() {
        CliRun run = CliRun.of("worker", "--world-size", "2", "--rank", "1", "--communicator", "inprocess");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).anySatisfy(line -> assertThat(line).contains("--communicator inprocess has no "
                + "worker processes; a worker joins a grpc or nccl world"));
    }

    @Test
    void anUnknownCommunicatorIsAUsageErrorNamingTheKnownOnes() {
        CliRun run = CliRun.of("worker", "--world-size", "2", "--rank", "1", "--communicator", "mpi");
        assertThat(run.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).anySatisfy(line -> assertThat(line).contains("--communicator:")
                .contains("mpi").contains("nccl"));
    }
}
