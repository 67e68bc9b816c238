package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.RankTask;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * A strategy whose components live on device workers (ranks): component i on device i, and for
 * stride 2 a replica of the last component on device N — in each guidance group, the second group
 * (CFG-parallel) on the second half of the devices. Each worker loads its own components on its own
 * thread, so a device holds only its part of the denoiser. The workers exchange tensors only through
 * a communicator (the context's, else {@code inprocess}). One {@link #denoise} at a time.
 */
public final class WorkerStrategy implements ParallelStrategy {
    /** Numbers the strategies of this JVM, so that a rank serving several of them keeps their components apart. */
    private static final AtomicLong STRATEGIES = new AtomicLong();
    private final String name;
    private final AsyncConfig config;
    private final boolean sequentialOnly;
    private final List<Rank> ranks;
    /** The components loaded in other processes: name → rank. */
    private final Map<String, Integer> remoteComponents;
    private final DenoisingLoop loop;
    private final Map<Device, Long> weightBytes;
    private boolean closed;

    private WorkerStrategy(String name, AsyncConfig config, boolean sequentialOnly, List<Rank> ranks,
                           Map<String, Integer> remoteComponents, DenoisingLoop loop, Map<Device, Long> weightBytes) {
        this.name = name;
        this.config = config;
        this.sequentialOnly = sequentialOnly;
        this.ranks = ranks;
        this.remoteComponents = remoteComponents;
        this.loop = loop;
        this.weightBytes = Collections.unmodifiableMap(weightBytes);
    }

    /**
     * The {@code sequential} strategy: the denoiser in {@code config.modelN()} components (1: whole) run
     * in order every step, component i on device {@code i mod devices} of its guidance group.
     */
    public static WorkerStrategy sequential(StrategyContext context) {
        int parts = context.config().modelN();
        int groupSize = context.devices().size() / context.guidanceGroups();
        List<List<Integer>> placements = new ArrayList<>();
        for (int g = 0; g < context.guidanceGroups(); g++) {
            List<Integer> placement = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                placement.add(g * groupSize + i % groupSize);
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
        int groupSize = devices.size() / groups;
        List<List<Integer>> placements = new ArrayList<>();
        List<Integer> replicas = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            List<Integer> placement = new ArrayList<>();
            for (int i = 0; i < config.modelN(); i++) {
                placement.add(g * groupSize + i);
            }
            placements.add(placement);
            if (config.stride() == 2 && config.modelN() > 1) {
                replicas.add(g * groupSize + config.modelN());
            }
        }
        return load("async", context, placements, replicas.isEmpty() ? null : replicas, false);
    }

    /**
     * Places the components on ranks — {@code placements.get(g).get(i)}: the rank (index in the context's
     * devices) of component i of group g, {@code replicas.get(g)} that of group g's replica — and has each
     * rank load its own.
     */
    private static WorkerStrategy load(String name, StrategyContext context, List<List<Integer>> placements,
                                       List<Integer> replicas, boolean sequentialOnly) {
        int parts = placements.get(0).size();
        List<ComponentFile> files = context.denoiser().components(parts);
        if (files.size() != parts) {
            throw new IllegalStateException("asked for " + parts + " components, the denoiser source gave "
                    + files.size());
        }
        List<Device> devices = context.devices();
        Map<Device, Long> weightBytes = new LinkedHashMap<>();
        // Sizes first: a missing file fails here, before any rank starts loading.
        for (int g = 0; g < placements.size(); g++) {
            for (int i = 0; i < parts; i++) {
                weightBytes.merge(devices.get(placements.get(g).get(i)), bytesOnDisk(files.get(i).file()), Long::sum);
            }
            if (replicas != null) {
                weightBytes.merge(devices.get(replicas.get(g)), bytesOnDisk(files.get(parts - 1).file()), Long::sum);
            }
        }
        CommunicatorProvider communicators = context.communicator() != null ? context.communicator()
                : new InProcessCommunicatorProvider();
        Communicator comm = communicators.create(devices);
        List<Rank> ranks = new ArrayList<>();
        Map<String, Integer> remote = new LinkedHashMap<>();
        String strategy = "s" + STRATEGIES.incrementAndGet();
        try {
            for (int r = 0; r < comm.size(); r++) {
                ranks.add(Rank.of(comm, r, context.backend()));
            }
            List<List<Loading>> loading = new ArrayList<>();
            String modelHash = null;
            for (int g = 0; g < placements.size(); g++) {
                List<Loading> group = new ArrayList<>();
                for (int i = 0; i <= parts; i++) {
                    boolean replica = i == parts;
                    if (replica && replicas == null) {
                        continue;
                    }
                    int rank = replica ? replicas.get(g) : placements.get(g).get(i);
                    String key = strategy + "/g" + g + (replica ? "/replica" : "/c" + i);
                    Rank target = ranks.get(rank);
                    ComponentFile file = files.get(Math.min(i, parts - 1));
                    group.add(new Loading(rank, key, file, target.submit(new RankTask.Load(key, file.file(),
                            context.denoiser().modelHash()))));
                    if (target.worker() == null) {
                        remote.put(key, rank);
                    }
                }
                loading.add(group);
            }
            List<DenoisingLoop.Lane> lanes = new ArrayList<>();
            RuntimeException failure = null;
            for (List<Loading> group : loading) {
                List<DenoisingLoop.Slot> slots = new ArrayList<>();
                for (Loading load : group) {
                    try {
                        RankTask.Done done = join(load.done());
                        slots.add(new DenoisingLoop.Slot(new ComponentIo(done.inputs(), done.outputs(),
                                load.file().shapeOnlyInputs()), load.rank(), load.key()));
                    } catch (RuntimeException e) {
                        failure = failure == null ? e : failure;
                    }
                }
                if (failure == null) {
                    lanes.add(new DenoisingLoop.Lane(slots.subList(0, parts), slots.size() > parts ? slots.get(parts)
                            : null));
                }
            }
            if (failure != null) {
                throw failure;
            }
            DenoisingLoop loop = new DenoisingLoop(lanes, ranks, comm);
            return new WorkerStrategy(name, context.config(), sequentialOnly, ranks, remote, loop, weightBytes);
        } catch (RuntimeException e) {
            unload(ranks, remote);
            comm.close();
            throw e;
        }
    }

    /** Component {@code file} being loaded as {@code key} on {@code rank}. */
    private record Loading(int rank, String key, ComponentFile file, CompletableFuture<RankTask.Done> done) {
    }

    /** Closes the local ranks (their threads and components) and has the remote ones unload theirs. */
    private static void unload(List<Rank> ranks, Map<String, Integer> remote) {
        List<CompletableFuture<RankTask.Done>> unloading = new ArrayList<>();
        remote.forEach((key, rank) -> unloading.add(ranks.get(rank).submit(new RankTask.Unload(key))
                .exceptionally(failure -> null)));
        ranks.forEach(Rank::close);
        unloading.forEach(CompletableFuture::join);
    }

    private static RankTask.Done join(CompletableFuture<RankTask.Done> future) {
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
            unload(ranks, remoteComponents);
            loop.close();
        }
    }

    /** The worker threads of the ranks in this process, in rank order; for tests that look at their pools. */
    List<DeviceWorker> workers() {
        return ranks.stream().map(Rank::worker).filter(java.util.Objects::nonNull).toList();
    }

    /** The number of guidance groups: 2 when the guidance branches run CFG-parallel. */
    public int guidanceGroups() {
        return loop.groups();
    }

    @Override
    public String toString() {
        return name + " " + config + " on " + ranks.stream().map(r -> r.device().toString())
                .collect(Collectors.joining(","));
    }
}
