package dev.asyncdiff.backend.tensorrt;

import dev.asyncdiff.onnx.graph.split.SplitManifest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The minimum, tuned and maximum shape of every input of one component, as a TensorRT optimization
 * profile needs them, derived from what the split recorded: each input's shape at batch 1 for the
 * planned latent size, and which of its axes follow the batch or the image size.
 *
 * <p>Axis 0 of a dynamic input is the batch. Another dynamic axis follows the image: the last axis of a
 * rank ≥ 4 tensor the width, the one before it the height (a crossing tensor at a lower resolution keeps
 * its ratio), and an axis of another tensor that holds the tokens of a flattened image (the latent area
 * over a square downsampling factor, as in a transformer's patches) the area. Any other axis — the text
 * length, which real exports leave dynamic, or a clip's frames — stays as planned, so the engine never
 * has to guess a sequence length.
 *
 * @param inputs one entry per input, in the component's order
 */
public record OptimizationProfile(List<Input> inputs) {
    private static final int VAE_FACTOR = 8;

    /** One input's three shapes. */
    public record Input(String name, long[] min, long[] opt, long[] max) {
        /** Whether every shape is the same (a static input). */
        public boolean fixed() {
            return Arrays.equals(min, opt) && Arrays.equals(opt, max);
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(min) + ".." + Arrays.toString(opt) + ".." + Arrays.toString(max);
        }
    }

    public OptimizationProfile {
        inputs = List.copyOf(inputs);
    }

    /**
     * The profile of a split component for {@code request}.
     *
     * @param inputs       the component's inputs as its manifest lists them
     * @param latentHeight the latent height the split was planned for
     * @param latentWidth  the latent width the split was planned for
     * @throws IllegalArgumentException naming the input when an image axis does not scale to a whole size
     */
    public static OptimizationProfile of(List<SplitManifest.Tensor> inputs, int latentHeight, int latentWidth,
                                         ProfileRequest request) {
        int minH = request.planned() ? latentHeight : request.minSide() / VAE_FACTOR;
        int optH = request.planned() ? latentHeight : request.optSide() / VAE_FACTOR;
        int maxH = request.planned() ? latentHeight : request.maxSide() / VAE_FACTOR;
        int minW = request.planned() ? latentWidth : request.minSide() / VAE_FACTOR;
        int optW = request.planned() ? latentWidth : request.optSide() / VAE_FACTOR;
        int maxW = request.planned() ? latentWidth : request.maxSide() / VAE_FACTOR;
        List<Input> profiled = new ArrayList<>();
        for (SplitManifest.Tensor input : inputs) {
            long[] planned = input.shape() == null ? new long[0] : input.shape();
            int[] dynamic = input.dynamicAxes() == null ? new int[0] : input.dynamicAxes();
            long[] min = planned.clone();
            long[] opt = planned.clone();
            long[] max = planned.clone();
            for (int axis : dynamic) {
                if (axis == 0) {
                    min[0] = planned[0];
                    opt[0] = planned[0] * request.optBatch();
                    max[0] = planned[0] * request.maxBatch();
                    continue;
                }
                min[axis] = scaled(input, axis, latentHeight, latentWidth, minH, minW);
                opt[axis] = scaled(input, axis, latentHeight, latentWidth, optH, optW);
                max[axis] = scaled(input, axis, latentHeight, latentWidth, maxH, maxW);
            }
            profiled.add(new Input(input.name(), min, opt, max));
        }
        return new OptimizationProfile(profiled);
    }

    /** A stable text of the profile, part of the engine cache key. */
    public String key() {
        return inputs.stream().map(Input::toString).collect(Collectors.joining("; "));
    }

    private static long scaled(SplitManifest.Tensor input, int axis, int plannedH, int plannedW, int h, int w) {
        long planned = input.shape()[axis];
        int rank = input.shape().length;
        long numerator;
        long denominator;
        if (rank >= 4 && axis == rank - 1) {
            numerator = planned * w;
            denominator = plannedW;
        } else if (rank >= 4 && axis == rank - 2) {
            numerator = planned * h;
            denominator = plannedH;
        } else if (isFlattenedImage(planned, (long) plannedH * plannedW)) {
            numerator = planned * h * w;
            denominator = (long) plannedH * plannedW;
        } else {
            return planned;
        }
        if (numerator % denominator != 0) {
            throw new IllegalArgumentException("input '" + input.name() + "' axis " + axis + " is " + planned
                    + " at " + plannedH + "x" + plannedW + " latents and would not be a whole size at " + h + "x" + w
                    + "; choose TensorRT profile sides that are multiples of the component's downsampling");
        }
        return numerator / denominator;
    }

    /** Whether {@code tokens} is {@code area / k²} for a whole k: an image's patches, not a text length. */
    private static boolean isFlattenedImage(long tokens, long area) {
        if (tokens <= 0 || area % tokens != 0) {
            return false;
        }
        long factor = Math.round(Math.sqrt((double) (area / tokens)));
        return factor * factor == area / tokens;
    }
}
