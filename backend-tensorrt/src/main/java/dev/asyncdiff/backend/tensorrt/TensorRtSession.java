package dev.asyncdiff.backend.tensorrt;

import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreate;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.DeclaredTensor;
import dev.asyncdiff.spi.InputConverter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.tensorrt.global.nvinfer.DataType;
import org.bytedeco.tensorrt.global.nvinfer.TensorIOMode;
import org.bytedeco.tensorrt.nvinfer.Dims64;
import org.bytedeco.tensorrt.nvinfer.ICudaEngine;
import org.bytedeco.tensorrt.nvinfer.IExecutionContext;

/**
 * One TensorRT engine with its execution context and CUDA stream on one GPU. Inputs are adapted to the
 * engine's dtypes and ranks by the same {@link InputConverter} as every backend's (an int64
 * {@code [batch]} timestep from a float scalar); those already in memory of this GPU (a previous
 * component's outputs) are bound in place, host inputs uploaded to staging memory kept across calls. Outputs are written by TensorRT into
 * fresh device memory and returned as device-resident tensors: the next component on this GPU reads them
 * without a copy, and {@link Tensor#toHost()} brings them back when the host needs them.
 */
final class TensorRtSession implements InferenceSession {
    private final Path modelFile;
    private final Device device;
    private final ICudaEngine engine;
    private final IExecutionContext context;
    private final CUstream_st stream = new CUstream_st();
    private final OptimizationProfile profile;
    private final List<TensorSpec> inputs = new ArrayList<>();
    private final List<TensorSpec> outputs = new ArrayList<>();
    private final InputConverter converter;
    private final Map<String, CudaBuffer> staging = new HashMap<>();
    private final Consumer<TensorRtSession> onClose;
    private boolean closed;

    TensorRtSession(Path modelFile, Device device, ICudaEngine engine, OptimizationProfile profile,
                    Consumer<TensorRtSession> onClose) {
        this.modelFile = modelFile;
        this.device = device;
        this.engine = engine;
        this.profile = profile;
        this.onClose = onClose;
        this.context = engine.createExecutionContext();
        if (context == null || context.isNull()) {
            throw new BackendException("TRT_CONTEXT", "TensorRT could not create an execution context for "
                    + modelFile + " (out of device memory?)", null);
        }
        Cuda.check(cudaStreamCreate(stream), "cudaStreamCreate on " + device);
        for (int i = 0; i < engine.getNbIOTensors(); i++) {
            String name = engine.getIOTensorName(i);
            DType dtype = dtype(engine.getTensorDataType(name), name);
            long[] shape = shape(engine.getTensorShape(name));
            (engine.getTensorIOMode(name) == TensorIOMode.kINPUT ? inputs : outputs)
                    .add(new TensorSpec(name, dtype, shape));
        }
        this.converter = new InputConverter(modelFile.toString(), inputs.stream().map(TensorRtSession::declared).toList());
    }

    /** A dynamic leading axis of a split component is its batch (see {@link OptimizationProfile}). */
    private static DeclaredTensor declared(TensorSpec spec) {
        List<String> names = new ArrayList<>(java.util.Collections.nCopies(spec.rank(), ""));
        if (spec.rank() > 0 && spec.shape()[0] < 0) {
            names.set(0, "batch");
        }
        return new DeclaredTensor(spec, names);
    }

    @Override
    public List<TensorSpec> inputs() {
        return List.copyOf(inputs);
    }

    @Override
    public List<TensorSpec> outputs() {
        return List.copyOf(outputs);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public NamedTensors run(Map<String, Tensor> given) {
        return run(given, TensorAllocator.UNPOOLED);
    }

    /** {@inheritDoc} Outputs live on this session's GPU, so {@code outputs} (host memory) is not used. */
    @Override
    public synchronized NamedTensors run(Map<String, Tensor> given, TensorAllocator outputsAllocator) {
        if (closed) {
            throw new IllegalStateException("TensorRT session for " + modelFile + " on " + device + " is closed");
        }
        Cuda.use(device);
        NamedTensors result = new NamedTensors();
        List<Tensor> uploaded = new ArrayList<>();
        boolean done = false;
        try (InputConverter.Prepared prepared = converter.prepare(given)) {
            for (TensorSpec spec : inputs) {
                bindInput(spec, prepared.feed().get(spec.name()), uploaded);
            }
            for (TensorSpec spec : outputs) {
                long[] shape = shape(context.getTensorShape(spec.name()));
                CudaBuffer memory = CudaBuffer.allocate(device, Arrays.stream(shape).reduce(1, Math::multiplyExact)
                        * spec.dtype().byteSize());
                Tensor output = Tensor.of(spec.dtype(), memory, shape);
                result.put(spec.name(), output);
                bind(spec.name(), memory.address(0));
            }
            if (!context.enqueueV3(stream)) {
                throw new BackendException("TRT_ENQUEUE", "TensorRT could not run " + modelFile + " on " + device
                        + " (see its log above)", null);
            }
            Cuda.check(cudaStreamSynchronize(stream), "running " + modelFile + " on " + device);
            done = true;
            return result;
        } finally {
            uploaded.forEach(Tensor::close);
            if (!done) {
                result.close();
            }
        }
    }

    /**
     * Binds {@code tensor} (already of the declared dtype and rank): in place on this GPU, else uploaded
     * from a host tensor kept in {@code uploaded} until the stream has run.
     */
    private void bindInput(TensorSpec spec, Tensor tensor, List<Tensor> uploaded) {
        checkShape(spec.name(), tensor.shape());
        if (!context.setInputShape(spec.name(), TensorRtBackend.dims(tensor.shape()))) {
            throw new IllegalArgumentException("input '" + spec.name() + "' of shape " + Arrays.toString(tensor.shape())
                    + " is outside the engine's profile for " + modelFile);
        }
        if (tensor.storage() instanceof CudaBuffer memory && memory.device().equals(device)) {
            bind(spec.name(), memory.address(tensor.byteOffset()));
            return;
        }
        Tensor host = tensor.toHost();
        uploaded.add(host);
        upload(spec, host);
    }

    private void upload(TensorSpec spec, Tensor host) {
        CudaBuffer stage = staging.get(spec.name());
        if (stage == null || stage.byteSize() < host.byteCount()) {
            if (stage != null) {
                stage.close();
            }
            stage = CudaBuffer.allocate(device, host.byteCount());
            staging.put(spec.name(), stage);
        }
        Cuda.check(cudaMemcpyAsync(stage.address(0), new BytePointer(host.buffer()), host.byteCount(),
                cudaMemcpyHostToDevice, stream), "uploading input '" + spec.name() + "' to " + device);
        bind(spec.name(), stage.address(0));
    }

    private void bind(String name, Pointer address) {
        if (!context.setTensorAddress(name, address)) {
            throw new BackendException("TRT_BIND", "TensorRT refused the address of '" + name + "' for " + modelFile,
                    null);
        }
    }

    /** A clear error before TensorRT's when a shape is outside the profile the engine was built for. */
    private void checkShape(String name, long[] shape) {
        for (OptimizationProfile.Input input : profile.inputs()) {
            if (!input.name().equals(name)) {
                continue;
            }
            boolean inside = shape.length == input.min().length;
            for (int axis = 0; inside && axis < shape.length; axis++) {
                inside = shape[axis] >= input.min()[axis] && shape[axis] <= input.max()[axis];
            }
            if (!inside) {
                throw new IllegalArgumentException("input '" + name + "' has shape " + Arrays.toString(shape)
                        + "; the engine for " + modelFile + " accepts " + Arrays.toString(input.min()) + " to "
                        + Arrays.toString(input.max()) + " (rebuild with a wider --trt-profile or maxBatch)");
            }
        }
    }

    private static long[] shape(Dims64 dims) {
        long[] shape = new long[dims.nbDims()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.d(i);
        }
        return shape;
    }

    private DType dtype(DataType type, String name) {
        return switch (type) {
            case kFLOAT -> DType.FP32;
            case kHALF -> DType.FP16;
            case kBF16 -> DType.BF16;
            case kINT64 -> DType.INT64;
            case kINT32 -> DType.INT32;
            case kBOOL -> DType.BOOL;
            case kUINT8 -> DType.UINT8;
            default -> throw new BackendException("TRT_DTYPE", "tensor '" + name + "' of " + modelFile + " is "
                    + type + ", which AsyncDiff tensors do not carry", null);
        };
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Cuda.use(device);
        staging.values().forEach(CudaBuffer::close);
        staging.clear();
        context.deallocate();
        engine.deallocate();
        cudaStreamDestroy(stream);
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "TensorRtSession[" + modelFile + " on " + device + (closed ? ", closed" : "") + "]";
    }
}
