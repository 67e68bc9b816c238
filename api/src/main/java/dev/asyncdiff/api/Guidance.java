package dev.asyncdiff.api;

import java.util.Arrays;
import java.util.List;

/**
 * How the denoiser's predictions for the guidance branches combine into the one the sampler steps
 * with: a stage between the strategy and the sampler, so that the strategy may run the branches in
 * one batch or on separate device groups (CFG-parallel) without knowing the formula.
 *
 * <p>Branch {@code 0} is the unconditional one and branch {@code 1} the conditional one, the order in
 * which conditioning tensors are stacked on their first axis. {@link #combine} reads its inputs and
 * returns a new FP32 tensor the caller closes; it is a pure function of its inputs, so running the
 * branches in one batch or in parallel gives the same bytes.
 */
public sealed interface Guidance permits Guidance.None, Guidance.Classifier {
    /** The number of branches the denoiser runs per step: 1 without guidance, 2 with it. */
    int branches();

    /**
     * Whether the unconditional branch sees no control input (ControlNet's guess mode): the adapter's
     * {@link StepInputs} gets it through {@link StepContext#guessMode()} and leaves the residuals of
     * that branch at zero.
     */
    boolean guessMode();

    /**
     * The prediction to step with, from one prediction per branch (same shape each).
     *
     * @throws IllegalArgumentException when the count or shapes do not match
     */
    Tensor combine(List<Tensor> predictions);

    /** No guidance: the conditional branch alone. */
    static Guidance none() {
        return None.INSTANCE;
    }

    /**
     * Classifier-free guidance {@code u + s·(c − u)}; a scale of at most 1 means {@link #none()} (the
     * conditional batch alone), as in diffusers.
     */
    static Guidance of(double scale) {
        return scale > 1.0 ? new Classifier(new double[] {scale}, 0, false) : none();
    }

    /**
     * Classifier-free guidance with one scale per entry of {@code axis} of the prediction (Stable Video
     * Diffusion ramps the scale across frames).
     *
     * @throws IllegalArgumentException when {@code scales} is empty or {@code axis} is negative
     */
    static Guidance perFrame(double[] scales, int axis) {
        return new Classifier(scales, axis, false);
    }

    /** No guidance. */
    record None() implements Guidance {
        static final None INSTANCE = new None();

        @Override
        public int branches() {
            return 1;
        }

        @Override
        public boolean guessMode() {
            return false;
        }

        /** A copy of the single prediction as FP32. */
        @Override
        public Tensor combine(List<Tensor> predictions) {
            if (predictions.size() != 1) {
                throw new IllegalArgumentException("no guidance combines 1 prediction, got " + predictions.size());
            }
            return predictions.get(0).to(DType.FP32);
        }
    }

    /**
     * Classifier-free guidance.
     *
     * @param scales    one scale, or one per entry of {@code frameAxis}
     * @param frameAxis the axis of the prediction the scales run along (ignored for one scale)
     * @param guessMode whether the unconditional branch gets no control input
     */
    record Classifier(double[] scales, int frameAxis, boolean guessMode) implements Guidance {
        public Classifier {
            if (scales == null || scales.length == 0) {
                throw new IllegalArgumentException("classifier-free guidance needs at least one scale");
            }
            if (frameAxis < 0) {
                throw new IllegalArgumentException("the frame axis of the guidance scales must be >= 0, was "
                        + frameAxis);
            }
            scales = scales.clone();
        }

        @Override
        public double[] scales() {
            return scales.clone();
        }

        /** The same guidance in (or out of) guess mode. */
        public Classifier withGuessMode(boolean value) {
            return new Classifier(scales, frameAxis, value);
        }

        @Override
        public int branches() {
            return 2;
        }

        /**
         * {@code u + s·(c − u)} element-wise in double precision, rounded to FP32, with {@code s} the
         * scale of the element's index along the frame axis.
         */
        @Override
        public Tensor combine(List<Tensor> predictions) {
            if (predictions.size() != 2) {
                throw new IllegalArgumentException("classifier-free guidance combines 2 predictions "
                        + "[unconditional, conditional], got " + predictions.size());
            }
            Tensor u = predictions.get(0);
            Tensor c = predictions.get(1);
            long[] shape = u.shape();
            if (!Arrays.equals(shape, c.shape())) {
                throw new IllegalArgumentException("the unconditional prediction " + Arrays.toString(shape)
                        + " and the conditional one " + Arrays.toString(c.shape()) + " differ in shape");
            }
            long inner = 1;
            long frames = 1;
            if (scales.length > 1) {
                if (frameAxis >= shape.length || shape[frameAxis] != scales.length) {
                    throw new IllegalArgumentException(scales.length + " guidance scales need axis " + frameAxis
                            + " of the prediction to have " + scales.length + " entries, shape is "
                            + Arrays.toString(shape));
                }
                frames = shape[frameAxis];
                for (int i = frameAxis + 1; i < shape.length; i++) {
                    inner *= shape[i];
                }
            }
            float[] uncond = u.toFloatArray();
            float[] cond = c.toFloatArray();
            float[] out = new float[uncond.length];
            for (int i = 0; i < out.length; i++) {
                double scale = scales.length == 1 ? scales[0] : scales[(int) ((i / inner) % frames)];
                out[i] = (float) (uncond[i] + scale * (cond[i] - uncond[i]));
            }
            return Tensor.ofFloats(out, shape);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Classifier that && Arrays.equals(scales, that.scales)
                    && frameAxis == that.frameAxis && guessMode == that.guessMode;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(scales) + frameAxis) + Boolean.hashCode(guessMode);
        }

        @Override
        public String toString() {
            return "cfg" + Arrays.toString(scales) + (scales.length > 1 ? " along axis " + frameAxis : "")
                    + (guessMode ? ", guess mode" : "");
        }
    }
}
