package dev.asyncdiff.backend.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaDeviceCanAccessPeer;
import static org.bytedeco.cuda.global.cudart.cudaDeviceEnablePeerAccess;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.tensorrt.global.nvinfer.createInferBuilder;
import static org.bytedeco.tensorrt.global.nvinfer.createInferRuntime;
import static org.bytedeco.tensorrt.global.nvinfer.getInferLibBuildVersion;
import static org.bytedeco.tensorrt.global.nvinfer.getInferLibMajorVersion;
import static org.bytedeco.tensorrt.global.nvinfer.getInferLibMinorVersion;
import static org.bytedeco.tensorrt.global.nvinfer.getInferLibPatchVersion;
import static org.bytedeco.tensorrt.global.nvonnxparser.createParser;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.spi.Backend;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.tensorrt.global.nvinfer.MemoryPoolType;
import org.bytedeco.tensorrt.global.nvinfer.OptProfileSelector;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.IBuilder;
import org.bytedeco.tensorrt.nvinfer.IBuilderConfig;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IHostMemory;
import org.bytedeco.tensorrt.nvinfer.INetworkDefinition;
import org.bytedeco.tensorrt.nvinfer.IOptimizationProfile;
import org.bytedeco.tensorrt.nvinfer.IRuntime;
import org.bytedeco.tensorrt.nvinfer.ITimingCache;
import org.bytedeco.tensorrt.nvonnxparser.IParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TensorRT engines on CUDA devices: {@link #load} finds the component's engine in the
 * {@link EngineCache} (keyed on the component's SHA-256, the GPU model and compute capability, the
 * TensorRT version, the profile and the builder settings) or builds it from the ONNX file — TensorRT 11
 * networks are strongly typed, so an fp16 engine comes from an fp16 ONNX — reusing and updating the GPU's
 * timing cache. A cached engine that does not match (another GPU or version, cut short, refused by
 * TensorRT) is logged with the reason and rebuilt.
 */
final class TensorRtBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(TensorRtBackend.class);
    private static final int PEER_ACCESS_ALREADY_ENABLED = 704;

    private final TensorRtOptions options;
    private final EngineCache cache;
    private final TrtLogger logger = new TrtLogger();
    private final IRuntime runtime;
    private final Map<Integer, EngineCache.Target> targets = new ConcurrentHashMap<>();
    private final Set<TensorRtSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    TensorRtBackend(TensorRtOptions options, List<Device> devices) {
        this.options = options;
        this.cache = new EngineCache(options.engineCache());
        this.runtime = createInferRuntime(logger);
        if (runtime == null || runtime.isNull()) {
            throw new BackendException("TRT_RUNTIME", "TensorRT could not create a runtime (see its log above)", null);
        }
        enablePeerAccess(devices);
    }

    /** Lets every pair of these GPUs that can reach each other copy directly (peer copies of crossing tensors). */
    private static void enablePeerAccess(List<Device> devices) {
        for (Device from : devices) {
            for (Device to : devices) {
                if (from.equals(to) || !Device.CUDA_KIND.equals(from.kind()) || !Device.CUDA_KIND.equals(to.kind())) {
                    continue;
                }
                int[] can = new int[1];
                Cuda.check(cudaDeviceCanAccessPeer(can, from.index(), to.index()),
                        "cudaDeviceCanAccessPeer(" + from + ", " + to + ")");
                if (can[0] != 0) {
                    Cuda.use(from);
                    int status = cudaDeviceEnablePeerAccess(to.index(), 0);
                    if (status != PEER_ACCESS_ALREADY_ENABLED) {
                        Cuda.check(status, "cudaDeviceEnablePeerAccess(" + from + " to " + to + ")");
                    }
                } else {
                    LOG.info("{} cannot reach {} directly; tensors between them go through the host", from, to);
                }
            }
        }
    }

    @Override
    public String name() {
        return TensorRtBackendProvider.NAME;
    }

    @Override
    public String timingProfile(Device device) {
        EngineCache.Target target = target(device);
        return name() + " on " + target.gpu() + ", TensorRT " + target.tensorRtVersion();
    }

    @Override
    public InferenceSession load(Path modelFile, Device device) {
        if (closed) {
            throw new IllegalStateException("the tensorrt backend is closed");
        }
        TensorRtBackendProvider.requireCuda(device);
        if (!Files.isRegularFile(modelFile)) {
            throw new ModelNotFoundException(modelFile, "no model file to build a TensorRT engine from");
        }
        Cuda.use(device);
        OptimizationProfile profile = ComponentProfiles.of(modelFile, options.profile());
        EngineCache.Key key = new EngineCache.Key(new GraphSplitter(options.engineCache()).modelHash(modelFile),
                profile.key(), builderKey(), target(device));
        ICudaEngine engine;
        try (CacheLock lock = CacheLock.acquire(cache.engineFile(key), "TensorRT engine for " + modelFile)) {
            engine = cachedOrBuilt(modelFile, key, profile);
        }
        TensorRtSession session = new TensorRtSession(modelFile, device, engine, profile, sessions::remove);
        sessions.add(session);
        return session;
    }

    private ICudaEngine cachedOrBuilt(Path modelFile, EngineCache.Key key, OptimizationProfile profile) {
        EngineCache.Lookup lookup = cache.lookup(key);
        if (lookup instanceof EngineCache.Lookup.Hit hit) {
            ICudaEngine engine = deserialize(hit.engine());
            if (engine != null) {
                LOG.debug("TensorRT engine for {} from {}", modelFile, hit.engine());
                return engine;
            }
            lookup = new EngineCache.Lookup.Stale(hit.engine(), "TensorRT refused to deserialize it");
        }
        if (lookup instanceof EngineCache.Lookup.Stale stale) {
            LOG.warn("rebuilding the TensorRT engine for {}: the cached {} cannot be used because {}", modelFile,
                    stale.engine(), stale.reason());
            cache.evict(key);
        }
        LOG.info("building a TensorRT engine for {} on {} (profile {}); this takes minutes the first time",
                modelFile, key.target().gpu(), profile.key());
        Path file = cache.store(key, target -> build(modelFile, profile, key.target(), target));
        ICudaEngine engine = deserialize(file);
        if (engine == null) {
            throw new BackendException("TRT_DESERIALIZE", "TensorRT built an engine for " + modelFile
                    + " but could not load it back from " + file, null);
        }
        return engine;
    }

    private void build(Path modelFile, OptimizationProfile profile, EngineCache.Target target, Path out)
            throws IOException {
        IBuilder builder = createInferBuilder(logger);
        INetworkDefinition network = builder.createNetworkV2(0);
        IParser parser = createParser(network, logger);
        IBuilderConfig config = builder.createBuilderConfig();
        try {
            if (!parser.parseFromFile(modelFile.toAbsolutePath().toString(), 2 /* kWARNING */)) {
                StringBuilder errors = new StringBuilder();
                for (int i = 0; i < parser.getNbErrors(); i++) {
                    errors.append("; ").append(parser.getError(i).desc());
                }
                throw new MalformedModelException(modelFile, "TensorRT's ONNX parser refused it" + errors, null);
            }
            config.setMemoryPoolLimit(MemoryPoolType.kWORKSPACE, options.workspaceBytes());
            config.setBuilderOptimizationLevel(options.optimizationLevel());
            IOptimizationProfile trtProfile = builder.createOptimizationProfile();
            for (OptimizationProfile.Input input : profile.inputs()) {
                trtProfile.setDimensions(input.name(), OptProfileSelector.kMIN,
                        dims(input.min()));
                trtProfile.setDimensions(input.name(), OptProfileSelector.kOPT,
                        dims(input.opt()));
                trtProfile.setDimensions(input.name(), OptProfileSelector.kMAX,
                        dims(input.max()));
            }
            config.addOptimizationProfile(trtProfile);
            Path timingFile = cache.timingCacheFile(target);
            byte[] timing = Files.isRegularFile(timingFile) ? Files.readAllBytes(timingFile) : new byte[0];
            ITimingCache timingCache = config.createTimingCache(new BytePointer(timing), timing.length);
            config.setTimingCache(timingCache, false);
            IHostMemory plan = builder.buildSerializedNetwork(network, config);
            if (plan == null || plan.isNull()) {
                throw new BackendException("TRT_BUILD", "TensorRT could not build an engine for " + modelFile
                        + " (see its log above)", null);
            }
            write(plan, out);
            IHostMemory updated = config.getTimingCache().serialize();
            Path partial = Files.createTempFile(timingFile.getParent(), "timing", ".partial");
            write(updated, partial);
            Files.move(partial, timingFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            parser.deallocate();
            network.deallocate();
            config.deallocate();
            builder.deallocate();
        }
    }

    /** Writes {@code memory} to {@code file} in chunks (an SDXL UNet engine passes 2 GiB). */
    private static void write(IHostMemory memory, Path file) throws IOException {
        BytePointer data = new BytePointer(memory.data()).capacity(memory.size());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long chunk = 1L << 30;
            for (long at = 0; at < memory.size(); at += chunk) {
                long length = Math.min(chunk, memory.size() - at);
                ByteBuffer slice = new BytePointer(data).position(at).limit(at + length).asBuffer();
                while (slice.hasRemaining()) {
                    channel.write(slice);
                }
            }
        }
    }

    private ICudaEngine deserialize(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            BytePointer bytes = new BytePointer(size);
            long chunk = 1L << 30;
            for (long at = 0; at < size; ) {
                ByteBuffer slice = new BytePointer(bytes).position(at).limit(Math.min(size, at + chunk)).asBuffer();
                int read = channel.read(slice, at);
                if (read < 0) {
                    throw new EOFException("the file ended at byte " + at + " of " + size);
                }
                at += read;
            }
            ICudaEngine engine = runtime.deserializeCudaEngine(bytes, size);
            bytes.deallocate();
            return engine == null || engine.isNull() ? null : engine;
        } catch (IOException e) {
            LOG.warn("cannot read the TensorRT engine {}: {}", file, e.getMessage());
            return null;
        }
    }

    private String builderKey() {
        return "workspace " + options.workspaceBytes() + ", level " + options.optimizationLevel();
    }

    private EngineCache.Target target(Device device) {
        return targets.computeIfAbsent(device.index(), index -> {
            cudaDeviceProp properties = new cudaDeviceProp();
            Cuda.check(cudaGetDeviceProperties(properties, index), "cudaGetDeviceProperties(" + index + ")");
            String version = String.format(Locale.ROOT, "%d.%d.%d.%d", getInferLibMajorVersion(),
                    getInferLibMinorVersion(), getInferLibPatchVersion(), getInferLibBuildVersion());
            return new EngineCache.Target(properties.name().getString().trim(),
                    properties.major() + "." + properties.minor(), version);
        });
    }

    static Dims64 dims(long[] shape) {
        Dims64 dims = new Dims64();
        dims.nbDims(shape.length);
        for (int i = 0; i < shape.length; i++) {
            dims.d(i, shape[i]);
        }
        return dims;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TensorRtSession session : Set.copyOf(sessions)) {
            session.close();
        }
        runtime.deallocate();
    }
}
