package dev.asyncdiff.synthetic;

import dev.asyncdiff.onnx.graph.Attr;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.util.List;

/**
 * The video building blocks of diffusers' {@code resnet.py} over {@link Layers}: frames travel as a batch
 * {@code [batch*frames, C, H, W]} through the spatial layers and are regrouped as {@code [batch, C, frames, H, W]}
 * for the temporal ones. The frame count is a graph value (an int64 {@code [1]} tensor), so the same graph
 * decodes chunks of any length. Not thread-safe, like the layers it writes with.
 */
@SuppressWarnings("try") // scopes are opened for their names; the body never touches the guard
final class TemporalLayers {
    private final Layers nn;
    private final String numFrames;

    /** Temporal layers writing with {@code nn}, regrouping frames by the int64 {@code [1]} value {@code numFrames}. */
    TemporalLayers(Layers nn, String numFrames) {
        this.nn = nn;
        this.numFrames = numFrames;
    }

    /**
     * diffusers' {@code SpatioTemporalResBlock} without time embedding, in the current scope: a
     * {@code spatial_res_block} (ResnetBlock2D, eps 1e-6), a {@code temporal_res_block} on its output (eps
     * {@code temporalEps}), and a {@code time_mixer} blending the two.
     */
    String spatioTemporalResBlock(String x, int in, int out, int groups, double eps, double temporalEps) {
        String spatial;
        try (GraphBuilder.Scope s = nn.scope("spatial_res_block")) {
            spatial = nn.resnet(x, null, in, out, 0, groups, eps);
        }
        String video = toVideo(spatial);
        String temporal;
        try (GraphBuilder.Scope t = nn.scope("temporal_res_block")) {
            temporal = temporalResnet(video, out, groups, temporalEps);
        }
        String mixed;
        try (GraphBuilder.Scope m = nn.scope("time_mixer")) {
            mixed = alphaBlend(video, temporal);
        }
        return toFrames(mixed, spatial, null);
    }

    /**
     * diffusers' {@code TemporalResnetBlock} over {@code [batch, C, frames, H, W]} with equal channels in and
     * out and no time embedding: norm1, SiLU, conv1, norm2, SiLU, conv2 (Conv3d, kernel (3, 1, 1)), plus the input.
     */
    String temporalResnet(String x, int channels, int groups, double eps) {
        String h = nn.temporalConv("conv1", nn.silu("nonlinearity", nn.groupNorm("norm1", x, channels, groups, eps, 3)),
                channels, channels, null);
        h = nn.silu("nonlinearity_1", nn.groupNorm("norm2", h, channels, groups, eps, 3));
        h = nn.temporalConv("conv2", h, channels, channels, null);
        return nn.add(x, h);
    }

    /**
     * diffusers' {@code AlphaBlender} with {@code merge_strategy="learned"} and
     * {@code switch_spatial_to_temporal_mix=True} (the temporal VAE's): {@code alpha = 1 - sigmoid(mix_factor)},
     * then {@code alpha * spatial + (1 - alpha) * temporal}.
     */
    String alphaBlend(String spatial, String temporal) {
        String mixFactor = nn.parameter("mix_factor", new long[] {1}, 1.0);
        String one = nn.scalar(1f);
        String alpha = nn.op("Sub", List.of(one, nn.op("Sigmoid", List.of(mixFactor))));
        String complement = nn.op("Sub", List.of(nn.scalar(1f), alpha));
        return nn.add(nn.mul(alpha, spatial), nn.mul(complement, temporal));
    }

    /**
     * {@code [batch*frames, C, H, W]} to {@code [batch, C, frames, H, W]}: a Reshape to
     * {@code [-1, num_frames, C, H, W]} (C, H, W read from the value's shape) and a Transpose.
     */
    String toVideo(String frames) {
        String channelsAndSize = nn.op("Slice", List.of(nn.op("Shape", List.of(frames)), nn.longs(1), nn.longs(4)));
        String shape = nn.op("Concat", List.of(nn.longs(-1), numFrames, channelsAndSize), Attr.i("axis", 0));
        String grouped = nn.op("Reshape", List.of(frames, shape));
        return nn.op("Transpose", List.of(grouped), Attr.ints("perm", 0, 2, 1, 3, 4));
    }

    /**
     * {@code [batch, C, frames, H, W]} back to {@code [batch*frames, C, H, W]}, the shape of {@code like}; a
     * non-null {@code outputName} names the result.
     */
    String toFrames(String video, String like, String outputName) {
        String framesFirst = nn.op("Transpose", List.of(video), Attr.ints("perm", 0, 2, 1, 3, 4));
        List<String> inputs = List.of(framesFirst, nn.op("Shape", List.of(like)));
        return outputName == null ? nn.op("Reshape", inputs) : nn.graph().namedOp("Reshape", inputs, outputName);
    }
}
