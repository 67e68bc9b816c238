package dev.asyncdiff.spi;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the tensors a caller passes against a model's declared inputs and adapts them: a rank-0
 * scalar becomes a {@code [1]} or {@code [batch]} vector where the model declares rank 1 (and a
 * one-element or constant vector becomes a scalar where it declares rank 0), and the dtype is
 * converted between numeric types (a float to an integer only when it holds a whole number).
 * Tensors that already fit are passed through untouched.
 *
 * Every backend's sessions use it, so that all accept the same inputs.
 *
 * <p>Immutable and thread-safe: every call works on its own {@link Prepared} value.
 */
public final class InputConverter {
    private static final Logger LOG = LoggerFactory.getLogger(InputConverter.class);

    private final String model;
    private final List<DeclaredTensor> inputs;

    /** A converter for the declared {@code inputs} of {@code model} (named in messages). */
    public InputConverter(String model, List<DeclaredTensor> inputs) {
        this.model = model;
        this.inputs = List.copyOf(inputs);
    }

    /**
     * The tensors to feed, one per declared input in declared order. Tensors created by the
     * conversion are owned by the result, which the caller must close; the caller's tensors are
     * only read.
     *
     * @throws IllegalArgumentException naming the input, with expected and actual dtype or shape,
     *                                  when an input is unknown, missing or does not fit
     */
    public Prepared prepare(Map<String, Tensor> given) {
        checkNames(given);
        Prepared prepared = new Prepared();
        try {
            for (DeclaredTensor input : inputs) {
                Tensor ranked = adaptRank(input, given.get(input.name()), given, prepared);
                Tensor typed = adaptDType(input.spec(), ranked, prepared);
                if (!input.spec().accepts(typed.shape())) {
                    throw new IllegalArgumentException(describe(input.spec()) + " expects shape "
                            + Arrays.toString(input.spec().shape()) + " (-1 = any size), got shape "
                            + Arrays.toString(typed.shape()));
                }
                prepared.feed.put(input.name(), typed);
            }
            return prepared;
        } catch (RuntimeException e) {
            prepared.close();
            throw e;
        }
    }

    private void checkNames(Map<String, Tensor> given) {
        if (given == null) {
            throw new IllegalArgumentException("inputs of model " + model + " must not be null; expected "
                    + expected());
        }
        List<String> declared = inputs.stream().map(DeclaredTensor::name).toList();
        TreeSet<String> unknown = new TreeSet<>(given.keySet());
        declared.forEach(unknown::remove);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("model " + model + " has no input named " + unknown
                    + "; expected inputs: " + expected());
        }
        List<String> missing = declared.stream().filter(name -> given.get(name) == null).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("model " + model + " is missing input(s) " + missing
                    + "; expected inputs: " + expected());
        }
    }

    private Tensor adaptRank(DeclaredTensor input, Tensor tensor, Map<String, Tensor> given, Prepared prepared) {
        int want = input.spec().rank();
        if (tensor.rank() == want || tensor.elementCount() == 0) {
            return tensor;
        }
        if (want == 0 && isConstant(tensor)) {
            return prepared.own(repeatFirst(tensor));
        }
        if (want == 1 && tensor.elementCount() == 1) {
            long size = input.spec().shape()[0] >= 0 ? input.spec().shape()[0] : batchSize(input, given);
            LOG.debug("input '{}' of {}: broadcasting a one-element {} tensor to [{}]", input.name(), model,
                    Arrays.toString(tensor.shape()), size);
            return prepared.own(repeatFirst(tensor, size));
        }
        throw new IllegalArgumentException(describe(input.spec()) + " expects rank " + want + ", shape "
                + Arrays.toString(input.spec().shape()) + " (-1 = any size), got rank " + tensor.rank()
                + ", shape " + Arrays.toString(tensor.shape()));
    }

    /**
     * The batch size to broadcast a scalar to: the size of a dimension of another input that shares
     * the target's symbolic dimension name, else the leading dimension of the first other input of
     * rank 2 or more (such as {@code sample}), else 1.
     */
    private long batchSize(DeclaredTensor target, Map<String, Tensor> given) {
        String dimension = target.dimensionName(0);
        if (!dimension.isEmpty()) {
            for (DeclaredTensor other : inputs) {
                Tensor tensor = given.get(other.name());
                int axis = other.dimensionNames().indexOf(dimension);
                if (other != target && axis >= 0 && tensor.rank() == other.spec().rank()) {
                    return tensor.dim(axis);
                }
            }
        }
        for (DeclaredTensor other : inputs) {
            Tensor tensor = given.get(other.name());
            if (other != target && tensor.rank() >= 2) {
                return tensor.dim(0);
            }
        }
        return 1;
    }

    private Tensor adaptDType(TensorSpec spec, Tensor tensor, Prepared prepared) {
        DType want = spec.dtype();
        DType have = tensor.dtype();
        if (have == want) {
            return tensor;
        }
        if (have == DType.BOOL || want == DType.BOOL) {
            throw new IllegalArgumentException(describe(spec) + " expects dtype " + name(want) + ", got " + name(have)
                    + "; inputs convert between numeric types only, never to or from bool");
        }
        if (have.isFloatingPoint() && !want.isFloatingPoint()) {
            requireIntegral(spec, tensor);
        }
        try {
            return prepared.own(tensor.to(want));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(describe(spec) + " expects dtype " + name(want) + ", got " + name(have)
                    + " with a value out of range: " + e.getMessage(), e);
        }
    }

    /**
     * A floating-point tensor converts to an integer input only when every value is a whole number
     * within the target's range (an exported UNet that declares an int64 {@code timestep} gets the
     * scheduler's integer timesteps as floats); anything else would silently change the value.
     */
    private void requireIntegral(TensorSpec spec, Tensor tensor) {
        double limit = spec.dtype() == DType.INT32 ? Integer.MAX_VALUE : spec.dtype() == DType.UINT8 ? 255 : 9.0e15;
        double floor = spec.dtype() == DType.UINT8 ? 0 : -limit;
        for (float value : tensor.toFloatArray()) {
            if (value != Math.rint(value) || value > limit || value < floor) {
                throw new IllegalArgumentException(describe(spec) + " expects dtype " + name(spec.dtype()) + ", got "
                        + name(tensor.dtype()) + " holding " + value + ", which is not a whole number in range; a float "
                        + "converts to an integer input only when it is one");
            }
        }
    }

    /** Whether every element of the tensor holds the same bytes. */
    private static boolean isConstant(Tensor tensor) {
        ByteBuffer buffer = tensor.buffer();
        int size = tensor.dtype().byteSize();
        for (int offset = size; offset < buffer.limit(); offset += size) {
            for (int b = 0; b < size; b++) {
                if (buffer.get(offset + b) != buffer.get(b)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A new tensor of {@code shape} whose every element is the first element of {@code tensor}. */
    private static Tensor repeatFirst(Tensor tensor, long... shape) {
        Tensor out = Tensor.zeros(tensor.dtype(), shape);
        ByteBuffer src = tensor.buffer();
        ByteBuffer dst = out.buffer();
        int size = tensor.dtype().byteSize();
        for (int offset = 0; offset < dst.limit(); offset += size) {
            for (int b = 0; b < size; b++) {
                dst.put(offset + b, src.get(b));
            }
        }
        return out;
    }

    private String describe(TensorSpec spec) {
        return "input '" + spec.name() + "' of model " + model;
    }

    private String expected() {
        return inputs.stream().map(input -> input.spec().toString()).toList().toString();
    }

    private static String name(DType dtype) {
        return dtype.name().toLowerCase(Locale.ROOT);
    }

    /** The tensors to feed, in declared order, and the converted tensors they own. */
    public static final class Prepared implements AutoCloseable {
        private final Map<String, Tensor> feed = new LinkedHashMap<>();
        private final List<Tensor> owned = new ArrayList<>();

        /** The tensor to feed per input name; valid until {@link #close()}. */
        public Map<String, Tensor> feed() {
            return feed;
        }

        private Tensor own(Tensor tensor) {
            owned.add(tensor);
            return tensor;
        }

        /** Closes the tensors the conversion created; idempotent. */
        @Override
        public void close() {
            owned.forEach(Tensor::close);
            owned.clear();
        }
    }
}
