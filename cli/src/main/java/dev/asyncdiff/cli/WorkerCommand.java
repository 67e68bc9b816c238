package dev.asyncdiff.cli;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.communicator.grpc.GrpcSettings;
import dev.asyncdiff.communicator.grpc.DeviceLink;
import dev.asyncdiff.communicator.grpc.GrpcWorker;
import dev.asyncdiff.communicator.grpc.GrpcWorldProvider;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.RuntimeConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff worker}: a rank other than 0 of a {@code grpc} world. Its place in the world comes from
 * {@code RANK}, {@code WORLD_SIZE}, {@code MASTER_ADDR} and {@code MASTER_PORT} as {@code torchrun}, Slurm and
 * Kubernetes set them (Slurm's {@code SLURM_PROCID}/{@code SLURM_NTASKS} too); flags override them.
 */
@Command(name = "worker",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Starts a rank of a multi-process AsyncDiff world (the grpc communicator).",
            "It joins the master (rank 0: asyncdiff generate --communicator grpc), loads the components rank 0 "
                    + "places on it and runs them until rank 0 ends the session."
        })
final class WorkerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--rank", paramLabel = "R", description = "This rank, 1 or more (default: RANK).")
    Integer rank;

    @Option(names = "--world-size", paramLabel = "N", description = "The number of ranks (default: WORLD_SIZE).")
    Integer worldSize;

    @Option(names = "--master-addr", paramLabel = "HOST", description = "Rank 0's host (default: MASTER_ADDR, "
            + "else 127.0.0.1).")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT", description = "Rank 0's rendezvous port (default: "
            + "MASTER_PORT, else 29500).")
    Integer masterPort;

    @Option(names = "--host", paramLabel = "HOST", description = "The address other ranks reach this one at "
            + "(default: this host's name).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
            description = "The port this rank listens on (default: any free port).")
    int port;

    @Option(names = "--device", paramLabel = "DEVICE", description = "This rank's device, as rank 0 lists it in "
            + "--devices (default: cpu:RANK; on GPUs e.g. cuda:$LOCAL_RANK).")
    String device;

    @Option(names = "--model", paramLabel = "DIR", description = "The model this rank serves: components of any "
            + "other denoiser are refused (default: whatever rank 0 sends).")
    Path model;

    @Option(names = "--step-timeout", paramLabel = "SECONDS", description = "How long rank 0 may wait for this "
            + "rank (default: ASYNCDIFF_STEP_TIMEOUT, else 120).")
    Integer stepTimeout;

    @Option(names = "--join-timeout", paramLabel = "SECONDS", description = "How long to wait for the master "
            + "(default: ASYNCDIFF_JOIN_TIMEOUT, else 300).")
    Integer joinTimeout;

    @Option(names = "--communicator", paramLabel = "NAME", defaultValue = "grpc",
            description = "The world's communicator, as rank 0 runs it: grpc, or nccl for ranks on GPUs, whose "
                    + "device-resident tensors then go over NCCL (default: ${DEFAULT-VALUE}).")
    String communicator;

    @Option(names = "--persistent", description = "When rank 0 ends the session, join the next master instead "
            + "of exiting (a service whose rank 0 restarts).")
    boolean persistent;

    @Override
    public Integer call() {
        Map<String, String> environment = new HashMap<>(System.getenv());
        put(environment, "RANK", rank);
        put(environment, "WORLD_SIZE", worldSize);
        put(environment, "MASTER_PORT", masterPort);
        put(environment, "ASYNCDIFF_STEP_TIMEOUT", stepTimeout);
        put(environment, "ASYNCDIFF_JOIN_TIMEOUT", joinTimeout);
        if (masterAddr != null) {
            environment.put("MASTER_ADDR", masterAddr);
        }
        if (!environment.containsKey("WORLD_SIZE") && !environment.containsKey("SLURM_NTASKS")) {
            throw new ParameterException(spec.commandLine(), "the world size is not set: pass --world-size or set "
                    + "WORLD_SIZE");
        }
        GrpcSettings settings;
        Device rankDevice;
        try {
            settings = GrpcSettings.fromEnvironment(environment, 1);
            rankDevice = device == null ? Device.cpu(settings.rank()) : Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        String modelHash = model == null ? null : new GraphSplitter(CachedModels.cacheRoot().resolve("splits"))
                .modelHash(model);
        RuntimeConfig config = runtime.toConfig();
        AsyncDiffRuntime providers = AsyncDiffRuntime.create(config, runtime.providerLoader(System.getenv()));
        GrpcWorker.Options options = new GrpcWorker.Options(settings, host == null ? hostName() : host, port,
                rankDevice, modelHash, model == null ? null : model.toString(),
                CachedModels.cacheRoot().resolve("grpc-components"), persistent, deviceLink(providers));
        try (Backend backend = providers.backends().get(config.backend()).open(new BackendOptions(List.of(rankDevice),
                config.backendOptions()))) {
            String why = GrpcWorker.serve(options, backend);
            spec.commandLine().getErr().println("rank " + settings.rank() + ": " + why);
        }
        return ExitCodes.OK;
    }

    /** The device link of the --communicator world; null for grpc alone. */
    private DeviceLink.Factory deviceLink(AsyncDiffRuntime providers) {
        CommunicatorProvider provider;
        try {
            provider = providers.communicators().get(communicator);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--communicator: " + e.getMessage());
        }
        if (!(provider instanceof GrpcWorldProvider world)) {
            throw new ParameterException(spec.commandLine(), "--communicator " + communicator + " has no worker "
                    + "processes; a worker joins a grpc or nccl world");
        }
        return world.deviceLink();
    }

    private static void put(Map<String, String> environment, String name, Integer value) {
        if (value != null) {
            environment.put(name, value.toString());
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }
}
