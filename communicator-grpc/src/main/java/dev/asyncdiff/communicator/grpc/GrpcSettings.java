package dev.asyncdiff.communicator.grpc;

import java.time.Duration;
import java.util.Map;

/**
 * Where a rank is in the world and how long it waits, read the way {@code torchrun}, Slurm and Kubernetes
 * launch workers: {@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT} (Slurm's
 * {@code SLURM_PROCID} and {@code SLURM_NTASKS} when those are unset), plus {@code ASYNCDIFF_STEP_TIMEOUT}
 * and {@code ASYNCDIFF_JOIN_TIMEOUT} in seconds. Flags of {@code asyncdiff worker} override them.
 *
 * @param rank        this process's rank; 0 runs the loop
 * @param worldSize   the number of ranks
 * @param masterAddr  the host rank 0 listens on for the rendezvous
 * @param masterPort  its port
 * @param stepTimeout how long rank 0 waits for a rank's task before failing the generation
 * @param joinTimeout how long the rendezvous waits for every rank, and a worker for the master
 */
public record GrpcSettings(int rank, int worldSize, String masterAddr, int masterPort, Duration stepTimeout,
                           Duration joinTimeout) {
    public static final int DEFAULT_PORT = 29500;
    public static final Duration DEFAULT_STEP_TIMEOUT = Duration.ofSeconds(120);
    public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofSeconds(300);

    public GrpcSettings {
        if (worldSize < 1) {
            throw new IllegalArgumentException("WORLD_SIZE must be >= 1, was " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("RANK must be in [0, " + worldSize + "), was " + rank);
        }
        if (masterAddr == null || masterAddr.isBlank()) {
            throw new IllegalArgumentException("MASTER_ADDR must name the host of rank 0");
        }
        if (masterPort < 0 || masterPort > 65535) {
            throw new IllegalArgumentException("MASTER_PORT must be in [0, 65535], was " + masterPort);
        }
        if (stepTimeout.isNegative() || stepTimeout.isZero() || joinTimeout.isNegative() || joinTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive, were " + stepTimeout + " and " + joinTimeout);
        }
    }

    /**
     * The settings in {@code environment}; {@code WORLD_SIZE} defaults to {@code defaultWorldSize}, the rank
     * to 0, the master to 127.0.0.1:29500.
     *
     * @throws IllegalArgumentException naming the variable when a value is not a number or out of range
     */
    public static GrpcSettings fromEnvironment(Map<String, String> environment, int defaultWorldSize) {
        int rank = integer(environment, "RANK", integer(environment, "SLURM_PROCID", 0));
        int worldSize = integer(environment, "WORLD_SIZE", integer(environment, "SLURM_NTASKS", defaultWorldSize));
        String addr = environment.getOrDefault("MASTER_ADDR", "127.0.0.1");
        int port = integer(environment, "MASTER_PORT", DEFAULT_PORT);
        Duration step = Duration.ofSeconds(integer(environment, "ASYNCDIFF_STEP_TIMEOUT",
                (int) DEFAULT_STEP_TIMEOUT.toSeconds()));
        Duration join = Duration.ofSeconds(integer(environment, "ASYNCDIFF_JOIN_TIMEOUT",
                (int) DEFAULT_JOIN_TIMEOUT.toSeconds()));
        return new GrpcSettings(rank, worldSize, addr, port, step, join);
    }

    private static int integer(Map<String, String> environment, String name, int fallback) {
        String value = environment.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment variable " + name + "='" + value + "' is not a number");
        }
    }

    public String master() {
        return masterAddr + ":" + masterPort;
    }
}
