package dev.asyncdiff.engine;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.onnx.graph.split.SplitOptions;
import dev.asyncdiff.onnx.graph.split.UnitCosts;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.spi.DenoiserSpec;
import dev.asyncdiff.spi.PipelineContext;
import dev.asyncdiff.spi.StrategyContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's {@link PipelineContext}: models around the loop on the first device, the denoiser
 * split by the {@link GraphSplitter} (cached, balanced on stored or fresh calibrations when asked) and
 * run by the strategy the engine selects, on the devices the configuration needs.
 */
final class RuntimePipelineContext implements PipelineContext {
    private static final Logger LOG = LoggerFactory.getLogger(RuntimePipelineContext.class);
    private static final int CALIBRATION_WARM_UPS = 2;
    private static final int CALIBRATION_RUNS = 5;

    private final Engine engine;
    private final Backend backend;
    private final boolean ownsBackend;
    private final List<Device> devices;
    private final GraphSplitter splitter;
    private boolean closed;

    RuntimePipelineContext(Engine engine, Backend backend, boolean ownsBackend) {
        this.engine = engine;
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.devices = engine.devices();
        this.splitter = new GraphSplitter(engine.splitCache());
    }

    @Override
    public InferenceSession loadModel(Path modelFile) {
        requireOpen();
        return backend.load(modelFile, devices.get(0));
    }

    @Override
    public NoiseScheduler sampler(Path schedulerConfig, String name) {
        return engine.samplers().create(schedulerConfig, name);
    }

    @Override
    public void requireDevices(AsyncConfig config, boolean cfgParallel) {
        int needed = config.devicesRequired() * (cfgParallel ? 2 : 1);
        if (needed > devices.size()) {
            throw new IllegalArgumentException((config.modelN() == 1 ? "denoising" : "AsyncDiff with model_n "
                    + config.modelN() + " and stride " + config.stride()) + (cfgParallel ? " in 2 CFG-parallel groups"
                    : "") + " needs " + needed + " devices, the runtime has " + devices.size() + " " + devices
                    + " (e.g. --devices cpu:0,cpu:1)");
        }
    }

    /** {@code derived/} under the split cache. */
    @Override
    public Path cacheDirectory() {
        Path folder = engine.splitCache().resolve("derived");
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the cache folder " + folder + ": " + e, e);
        }
        return folder;
    }

    @Override
    public String strategyName(AsyncConfig config) {
        return engine.strategyName(config);
    }

    @Override
    public ParallelStrategy denoiser(DenoiserSpec denoiser, AsyncConfig config, boolean cfgParallel) {
        requireOpen();
        requireDevices(config, cfgParallel);
        int groups = cfgParallel ? 2 : 1;
        List<Device> used = devices.subList(0, config.devicesRequired() * groups);
        List<Device> group = used.subList(0, config.devicesRequired());
        SplitOptions options = splitOptions(denoiser, group);
        DenoiserSource source = new DenoiserSource() {
            @Override
            public List<ComponentFile> components(int parts) {
                return splitter.components(denoiser.model(), parts, denoiser.latentHeight(), denoiser.latentWidth(),
                        options);
            }

            @Override
            public String modelHash() {
                return splitter.modelHash(denoiser.model());
            }
        };
        String name = strategyName(config);
        ParallelStrategy strategy = engine.strategies().get(name).create(new StrategyContext(config, source, backend,
                used, groups, engine.communicator()));
        LOG.debug("created strategy {} for {} on {}", name, config, used);
        return strategy;
    }

    /**
     * How the denoiser is planned for one group of devices: its input shapes from the adapter, the
     * engine's link (else the devices' own), and unit times measured on this backend and device kind
     * when some are stored, or measured now when the engine calibrates.
     */
    private SplitOptions splitOptions(DenoiserSpec denoiser, List<Device> group) {
        SplitOptions options = SplitOptions.forDevices(group).withInputShapes(denoiser.inputShapes());
        if (engine.link() != null) {
            options = options.withLink(engine.link());
        }
        Device device = group.get(0);
        String target = backend.timingProfile(device);
        Optional<UnitCosts> stored = splitter.storedCalibration(denoiser.model(), denoiser.latentHeight(),
                denoiser.latentWidth(), target);
        if (stored.isEmpty() && engine.calibrate()) {
            stored = Optional.of(splitter.calibrate(denoiser.model(), denoiser.latentHeight(), denoiser.latentWidth(),
                    options, file -> backend.load(file, device), target, CALIBRATION_WARM_UPS, CALIBRATION_RUNS));
        }
        return stored.map(options::withMeasured).orElse(options);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this pipeline context is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsBackend) {
            backend.close();
        }
    }
}
