package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.DenoiserComponent;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.StrategyContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

/**
 * A strategy whose components live on device workers (ranks): component i on device i, and for
 * stride 2 a replica of the last component on device N — in each guidance group, the second group
 * (CFG-parallel) on the second half of the devices. Each worker loads its own components on its own
 * thread, so a device holds only its part of the denoiser. The workers exchange tensors only through
 * a communicator (the context's, else {@code inprocess}). One {@link #denoise} at a time.
 */
public final class WorkerStrategy implements ParallelStrategy {
    private final String name;
    private final AsyncConfig config;
    private final boolean sequentialOnly;
    private final List<DeviceWorker> workers;
    private final DenoisingLoop loop;
    private final Map<Device, Long> weightBytes;
    private boolean closed;

    private WorkerStrategy(String name, AsyncConfig config, boolean sequentialOnly, List<DeviceWorker> workers,
                           DenoisingLoop loop, Map<Device, Long> weightBytes) {
        this.name = name;
        this.config = config;
        this.sequentialOnly = sequentialOnly;
        this.workers = workers;
        this.loop = loop;
        this.weightBytes = Collections.unmodifiableMap(weightBytes);
    }

    /**
     * The {@code sequential} strategy: the denoiser in {@code config.modelN()} components (1: whole) run
     * in order every step, component i on device {@code i mod devices} of its guidance group.
     */
    public static WorkerStrategy sequential(StrategyContext context) {
        int parts = context.config().modelN();
        List<List<Device>> placements = new ArrayList<>();
        for (int g = 0; g < context.guidanceGroups(); g++) {
            List<Device> devices = context.groupDevices(g);
            List<Device> placement = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                placement.add(devices.get(i % devices.size()));
            }
            placements.add(placement);
        }
        return load("sequential", context, placements, null, true);
    }

    /**
     * The {@code async} strategy: AsyncDiff's schedule for {@code context.config()}, in each guidance
     * group (two for CFG-parallel).
     *
     * @throws IllegalArgumentException when a group has fewer devices than the configuration needs
     */
    public static WorkerStrategy async(StrategyContext context) {
        AsyncConfig config = context.config();
        int groups = context.guidanceGroups();
        List<Device> devices = context.devices();
        if (devices.size() < config.devicesRequired() * groups) {
            throw new IllegalArgumentException("async with modelN=" + config.modelN() + " and stride " + config.stride()
                    + " needs " + config.devicesRequired() * groups + " devices"
                    + (groups > 1 ? " (" + config.devicesRequired() + " per CFG-parallel group)" : "")
                    + ", got " + devices.size() + " " + devices);
        }
        List<List<Device>> placements = new ArrayList<>();
        List<Device> replicas = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            List<Device> group = context.groupDevices(g);
            placements.add(group.subList(0, config.modelN()));
            if (config.stride() == 2 && config.modelN() > 1) {
                replicas.add(group.get(config.modelN()));
            }
        }
        return load("async", context, placements, replicas.isEmpty() ? null : replicas, false);
    }

    private static WorkerStrategy load(String name, StrategyContext context, List<List<Device>> placements,
                                       List<Device> replicaDevices, boolean sequentialOnly) {
        int parts = placements.get(0).size();
        List<ComponentFile> files = context.denoiser().components(parts);
        if (files.size() != parts) {
            throw new IllegalStateException("asked for " + parts + " components, the denoiser source gave "
                    + files.size());
        }
        Map<Device, DeviceWorker> byDevice = new LinkedHashMap<>();
        for (int g = 0; g < placements.size(); g++) {
            placements.get(g).forEach(d -> byDevice.computeIfAbsent(d, DeviceWorker::new));
            if (replicaDevices != null) {
                byDevice.computeIfAbsent(replicaDevices.get(g), DeviceWorker::new);
            }
        }
        List<DeviceWorker> workers = new ArrayList<>(byDevice.values());
        DenoisingLoop loop = null;
        try {
            Backend backend = context.backend();
            Map<Device, Long> weightBytes = new LinkedHashMap<>();
            List<List<CompletableFuture<DenoiserComponent>>> loading = new ArrayList<>();
            List<CompletableFuture<DenoiserComponent>> replicaLoading = new ArrayList<>();
            // Sizes first: a missing file fails here, before any worker starts loading.
            for (int g = 0; g < placements.size(); g++) {
                for (int i = 0; i < files.size(); i++) {
                    weightBytes.merge(placements.get(g).get(i), bytesOnDisk(files.get(i).file()), Long::sum);
                }
                if (replicaDevices != null) {
                    weightBytes.merge(replicaDevices.get(g), bytesOnDisk(files.get(files.size() - 1).file()), Long::sum);
                }
            }
            for (int g = 0; g < placements.size(); g++) {
                List<CompletableFuture<DenoiserComponent>> group = new ArrayList<>();
                for (int i = 0; i < files.size(); i++) {
                    group.add(loadOn(byDevice.get(placements.get(g).get(i)), backend, files.get(i)));
                }
                loading.add(group);
                if (replicaDevices != null) {
                    replicaLoading.add(loadOn(byDevice.get(replicaDevices.get(g)), backend, files.get(files.size() - 1)));
                }
            }
            List<DenoisingLoop.Lane> lanes = new ArrayList<>();
            RuntimeException failure = null;
            for (int g = 0; g < placements.size(); g++) {
                List<DenoiserComponent> components = new ArrayList<>();
                List<DeviceWorker> componentWorkers = new ArrayList<>();
                for (int i = 0; i < files.size(); i++) {
                    try {
                        components.add(join(loading.get(g).get(i)));
                    } catch (RuntimeException e) {
                        failure = failure == null ? e : failure;
                    }
                    componentWorkers.add(byDevice.get(placements.get(g).get(i)));
                }
                DenoiserComponent replica = null;
                if (replicaDevices != null) {
                    try {
                        replica = join(replicaLoading.get(g));
                    } catch (RuntimeException e) {
                        failure = failure == null ? e : failure;
                    }
                }
                if (failure == null) {
                    lanes.add(new DenoisingLoop.Lane(components, componentWorkers, replica,
                            replicaDevices == null ? null : byDevice.get(replicaDevices.get(g))));
                }
            }
            if (failure != null) {
                throw failure;
            }
            CommunicatorProvider communicators = context.communicator() != null ? context.communicator()
                    : new InProcessCommunicatorProvider();
            loop = new DenoisingLoop(lanes, communicators);
            return new WorkerStrategy(name, context.config(), sequentialOnly, workers, loop, weightBytes);
        } catch (RuntimeException e) {
            if (loop != null) {
                loop.close();
            }
            workers.forEach(DeviceWorker::close);
            throw e;
        }
    }

    private static CompletableFuture<DenoiserComponent> loadOn(DeviceWorker worker, Backend backend, ComponentFile file) {
        return worker.submit(() -> worker.own(new LoadedComponent(file.index(), backend.load(file.file(), worker.device()))));
    }

    private static DenoiserComponent join(CompletableFuture<DenoiserComponent> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while loading components");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException("loading a component failed: " + e.getCause(), e.getCause());
        }
    }

    /** The bytes of a model file and its external data file. */
    private static long bytesOnDisk(Path model) {
        try {
            Path data = model.resolveSibling(model.getFileName() + "_data");
            return Files.size(model) + (Files.exists(data) ? Files.size(data) : 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of " + model, e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    /** The configuration this strategy runs. */
    public AsyncConfig config() {
        return config;
    }

    @Override
    public synchronized Tensor denoise(DenoiseRequest request) {
        if (closed) {
            throw new IllegalStateException("WorkerStrategy '" + name + "' is closed");
        }
        return loop.run(request, config, sequentialOnly);
    }

    @Override
    public List<TensorSpec> denoiserInputs() {
        return loop.firstComponentInputs();
    }

    @Override
    public Map<Device, Long> weightBytesPerDevice() {
        return weightBytes;
    }

    /** Stops the workers and closes every session; idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            loop.close();
            workers.forEach(DeviceWorker::close);
        }
    }

    /** The workers (ranks) in rank order; for tests that look at their pools. */
    List<DeviceWorker> workers() {
        return workers;
    }

    /** The number of guidance groups: 2 when the guidance branches run CFG-parallel. */
    public int guidanceGroups() {
        return loop.groups();
    }

    @Override
    public String toString() {
        return name + " " + config + " on " + workers.stream().map(w -> w.device().toString())
                .collect(Collectors.joining(","));
    }
}
