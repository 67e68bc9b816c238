package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Tensor;
import java.nio.ByteBuffer;

/** The batch arithmetic of classifier-free guidance. Returned tensors are new; the caller closes them. */
public final class LatentOps {
    private LatentOps() {
    }

    /** {@code [x; x]}: the latents repeated along the batch axis, for the unconditional and conditional halves. */
    public static Tensor doubleBatch(Tensor x) {
        long[] shape = x.shape();
        shape[0] *= 2;
        Tensor out = Tensor.zeros(x.dtype(), shape);
        ByteBuffer target = out.buffer();
        target.put(x.buffer());
        target.put(x.buffer());
        return out;
    }

    /**
     * The tensors stacked along the first axis, in order (the guidance branches of one batch).
     *
     * @throws IllegalArgumentException when the dtypes or the shapes after the first axis differ
     */
    public static Tensor concatBatch(java.util.List<Tensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to stack");
        }
        Tensor first = parts.get(0);
        long[] shape = first.shape();
        if (shape.length == 0) {
            throw new IllegalArgumentException("cannot stack scalars along a batch axis");
        }
        long batch = 0;
        for (Tensor part : parts) {
            long[] other = part.shape();
            if (part.dtype() != first.dtype() || other.length != shape.length || !java.util.Arrays.equals(
                    java.util.Arrays.copyOfRange(other, 1, other.length), java.util.Arrays.copyOfRange(shape, 1, shape.length))) {
                throw new IllegalArgumentException("cannot stack " + part + " onto " + first
                        + ": dtype and every axis after the first must match");
            }
            batch += other[0];
        }
        shape[0] = batch;
        Tensor out = Tensor.zeros(first.dtype(), shape);
        ByteBuffer target = out.buffer();
        for (Tensor part : parts) {
            target.put(part.buffer());
        }
        return out;
    }

    /**
     * The guided prediction {@code u + scale · (c − u)} from {@code [u; c]}, as FP32 with half the batch.
     *
     * @throws IllegalArgumentException when the batch is odd
     */
    public static Tensor guide(Tensor prediction, double scale) {
        long[] shape = prediction.shape();
        if (shape.length == 0 || shape[0] % 2 != 0) {
            throw new IllegalArgumentException("a guided prediction needs an even batch [unconditional; conditional], "
                    + "got shape " + java.util.Arrays.toString(shape));
        }
        float[] values = prediction.toFloatArray();
        int half = values.length / 2;
        float[] guided = new float[half];
        for (int i = 0; i < half; i++) {
            float unconditional = values[i];
            guided[i] = (float) (unconditional + scale * (values[half + i] - unconditional));
        }
        shape[0] /= 2;
        return Tensor.ofFloats(guided, shape);
    }
}
