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
 * A strategy whose components live on device workers: component i on device i, and for stride 2
 * a replica of the last component on device N. Each worker loads its own components on its own
 * thread, so a device holds only its part of the denoiser. One {@link #denoise} at a time.
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
     * in order every step, component i on device {@code i mod devices}.
     */
    public static WorkerStrategy sequential(StrategyContext context) {
        List<Device> devices = context.devices();
        int parts = context.config().modelN();
        List<Device> placement = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            placement.add(devices.get(i % devices.size()));
        }
        return load("sequential", context, placement, null, true);
    }

    /**
     * The {@code async} strategy: AsyncDiff's schedule for {@code context.config()}.
     *
     * @throws IllegalArgumentException when there are fewer devices than the configuration needs
     */
    public static WorkerStrategy async(StrategyContext context) {
        AsyncConfig config = context.config();
        List<Device> devices = context.devices();
        if (devices.size() < config.devicesRequired()) {
            throw new IllegalArgumentException("async with modelN=" + config.modelN() + " and stride " + config.stride()
                    + " needs " + config.devicesRequired() + " devices, got " + devices.size() + " " + devices);
        }
        Device replica = config.stride() == 2 ? devices.get(config.modelN()) : null;
        return load("async", context, devices.subList(0, config.modelN()), replica, false);
    }

    private static WorkerStrategy load(String name, StrategyContext context, List<Device> placement,
                                       Device replicaDevice, boolean sequentialOnly) {
        List<ComponentFile> files = context.denoiser().components(placement.size());
        if (files.size() != placement.size()) {
            throw new IllegalStateException("asked for " + placement.size() + " components, the denoiser source gave "
                    + files.size());
        }
        Map<Device, DeviceWorker> byDevice = new LinkedHashMap<>();
        placement.forEach(d -> byDevice.computeIfAbsent(d, DeviceWorker::new));
        if (replicaDevice != null) {
            byDevice.computeIfAbsent(replicaDevice, DeviceWorker::new);
        }
        List<DeviceWorker> workers = new ArrayList<>(byDevice.values());
        try {
            Backend backend = context.backend();
            List<CompletableFuture<DenoiserComponent>> loading = new ArrayList<>();
            List<DeviceWorker> componentWorkers = new ArrayList<>();
            Map<Device, Long> weightBytes = new LinkedHashMap<>();
            for (int i = 0; i < files.size(); i++) {
                DeviceWorker worker = byDevice.get(placement.get(i));
                loading.add(loadOn(worker, backend, files.get(i)));
                componentWorkers.add(worker);
                weightBytes.merge(worker.device(), bytesOnDisk(files.get(i).file()), Long::sum);
            }
            CompletableFuture<DenoiserComponent> replica = null;
            if (replicaDevice != null) {
                ComponentFile last = files.get(files.size() - 1);
                replica = loadOn(byDevice.get(replicaDevice), backend, last);
                weightBytes.merge(replicaDevice, bytesOnDisk(last.file()), Long::sum);
            }
            List<DenoiserComponent> components = new ArrayList<>();
            for (CompletableFuture<DenoiserComponent> future : loading) {
                components.add(join(future));
            }
            DenoisingLoop loop = new DenoisingLoop(components, componentWorkers, replica == null ? null : join(replica),
                    replicaDevice == null ? null : byDevice.get(replicaDevice));
            return new WorkerStrategy(name, context.config(), sequentialOnly, workers, loop, weightBytes);
        } catch (RuntimeException e) {
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
            workers.forEach(DeviceWorker::close);
        }
    }

    @Override
    public String toString() {
        return name + " " + config + " on " + workers.stream().map(w -> w.device().toString())
                .collect(Collectors.joining(","));
    }
}
