package dev.asyncdiff.cli;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * How the denoiser runs, shared by {@code generate}, {@code upscale} and {@code video}: the strategy, AsyncDiff's
 * settings and CFG-parallel, checked against the devices and turned into the engine and the {@link AsyncConfig}.
 */
final class DenoiserOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    @Option(names = "--strategy", paramLabel = "NAME",
            description = "The strategy provider that runs the denoiser: sequential, async, or a plugin's (default: "
                    + "async when --model-n > 1 or --stride 2, else sequential).")
    String strategy;

    @Option(names = "--model-n", paramLabel = "N",
            description = "AsyncDiff: components the denoiser is split into (default with async: the devices, "
                    + "minus one for stride 2).")
    Integer modelN;

    @Option(names = "--stride", paramLabel = "1|2", defaultValue = "1",
            description = "AsyncDiff stride; 2 needs model-n + 1 devices (default: ${DEFAULT-VALUE}).")
    int stride;

    @Option(names = "--warm-up", paramLabel = "N", defaultValue = "1",
            description = "AsyncDiff: sequential warm-up steps before parallel ones (default: ${DEFAULT-VALUE}).")
    int warmUp;

    @Option(names = "--time-shift", description = "AsyncDiff: parallel components take the previous step's timestep.")
    boolean timeShift;

    @Option(names = "--cfg-parallel", description = "Run the unconditional and conditional halves of guidance on two "
            + "device groups (the first and second half of --devices), each with the chosen strategy; same output.")
    boolean cfgParallel;

    @Option(names = "--communicator", paramLabel = "NAME",
            description = "How ranks exchange tensors: inprocess (default: threads of this process), grpc (ranks "
                    + "started with asyncdiff worker; RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT), nccl (the same, GPU "
                    + "ranks sending device tensors over NCCL), or a plugin's.")
    String communicator;

    /** Checks the values that need no devices. */
    void validate() {
        if (stride != 1 && stride != 2) {
            throw usage("--stride must be 1 or 2, was " + stride);
        }
        if (warmUp < 1) {
            throw usage("--warm-up must be >= 1, was " + warmUp);
        }
        if (modelN != null && modelN < 1) {
            throw usage("--model-n must be >= 1, was " + modelN);
        }
    }

    /**
     * The engine over the runtime's providers: the split cache beside the model cache, and the strategy
     * {@code --strategy} names; checks {@code --strategy} and {@code scheduler} (null: none asked) against the
     * providers.
     */
    Engine engine(AsyncDiffRuntime providers, String scheduler) {
        if (strategy != null && !providers.strategies().names().contains(strategy)) {
            throw usage("--strategy: unknown strategy '" + strategy + "'; known strategies: "
                    + String.join(", ", providers.strategies().names()));
        }
        Engine engine = Engine.builder(providers).splitCache(CachedModels.cacheRoot().resolve("splits"))
                .strategy(strategy).communicator(communicator).build();
        if (scheduler != null) {
            try {
                engine.samplers().provider(scheduler);
            } catch (IllegalArgumentException e) {
                throw usage("--scheduler: " + e.getMessage());
            }
        }
        return engine;
    }

    /** The AsyncDiff settings the flags ask for on {@code config}'s devices. */
    AsyncConfig asyncConfig(RuntimeConfig config) {
        // a strategy other than sequential (async or a plugin's) splits the denoiser over the devices
        boolean async = strategy != null ? !strategy.equals("sequential") : (modelN != null && modelN > 1) || stride == 2;
        if (cfgParallel && config.devices().size() < 2) {
            throw usage("--cfg-parallel runs the guidance halves on two device groups; it needs at least 2 devices, got "
                    + config.devices() + " (e.g. --devices cpu:0,cpu:1)");
        }
        if (!async) {
            if (modelN != null && modelN > 1 || stride == 2) {
                throw usage("--model-n and --stride 2 split the denoiser; they need --strategy async");
            }
            return AsyncConfig.SEQUENTIAL;
        }
        int devices = config.devices().size() / (cfgParallel ? 2 : 1);
        int parts = modelN != null ? modelN : stride == 2 ? devices - 1 : devices;
        if (modelN != null && modelN == 1 && stride == 1) {
            throw usage("--model-n 1 with --stride 1 does not split the denoiser; use --model-n 2 or more with "
                    + "--strategy async, or --strategy sequential");
        }
        if (parts < 2 && stride == 1) {
            throw usage("--strategy async splits the denoiser over at least 2 devices; got " + config.devices()
                    + " (e.g. --devices cpu:0,cpu:1)");
        }
        AsyncConfig wanted = new AsyncConfig(Math.max(parts, 1), stride, warmUp, timeShift);
        if (wanted.devicesRequired() > devices) {
            throw usage("--model-n " + wanted.modelN() + " with --stride " + stride + " needs "
                    + wanted.devicesRequired() + " devices" + (cfgParallel ? " per CFG-parallel group" : "") + ", got "
                    + devices + " " + config.devices());
        }
        return wanted;
    }

    /** How the summary line names where the denoiser ran. */
    String placement(AsyncConfig config, RuntimeConfig runtime, String strategyName) {
        boolean splits = config.modelN() > 1 || config.stride() > 1 || config.timeShift();
        return strategyName + (splits ? String.format(java.util.Locale.ROOT, " (model_n %d, stride %d, warm-up %d%s, %s)",
                config.modelN(), config.stride(), config.warmUp(), config.timeShift() ? ", time shift" : "",
                runtime.devices())
                : " on " + (cfgParallel ? runtime.devices().subList(0, 2) : runtime.devices().get(0)));
    }

    private ParameterException usage(String message) {
        return new ParameterException(mixee.commandLine(), message);
    }
}
