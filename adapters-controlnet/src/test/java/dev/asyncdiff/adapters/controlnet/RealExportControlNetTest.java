package dev.asyncdiff.adapters.controlnet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.synthetic.ControlNetConfig;
import dev.asyncdiff.synthetic.ControlNetGraph;
import dev.asyncdiff.synthetic.UNetConfig;
import dev.asyncdiff.synthetic.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ControlNet merged into the real SD 1.5 export of {@code ../shared/data/real-exports} (Optimum's plain UNet: int64
 * {@code timestep} on a {@code steps} axis, opset 14, torch's node names), with a ControlNet built for its config
 * ({@code from_unet}: blocks (32, 64), cross-attention 32): the skips are found in the real graph, scale 0 gives the
 * plain pipeline's latents exactly, and AsyncDiff runs the merged graph. Skipped where {@code ../shared} is absent.
 */
class RealExportControlNetTest {
    @TempDir
    Path temp;

    @Test
    void aControlNetGuidesTheRealSd15Export() {
        String shared = System.getProperty("asyncdiff.shared.dir", "../shared");
        Path base = Path.of(shared, "data", "real-exports", "sd15");
        Assumptions.assumeTrue(Files.isRegularFile(base.resolve("model_index.json")), "no real export at " + base
                + " (../shared is absent in a user's clone); skipping");
        UNetConfig unet = new UNetConfig(32, 4, 4, List.of(32, 64), List.of("CrossAttnDownBlock2D", "DownBlock2D"),
                List.of("UpBlock2D", "CrossAttnUpBlock2D"), 2, 32, List.of(8, 8), List.of(1, 1), false, false, 32, 1e-5,
                0, 0, 77);
        Path net = temp.resolve("controlnet");
        ControlNetGraph.build(new ControlNetConfig(unet, List.of(8, 8, 16, 16)), new Weights(7), DType.FP32)
                .write(net.resolve("model.onnx"), ExternalDataPolicy.INLINE);
        Engine engine = ControlNetFixtures.engine(2, temp.resolve("cache"));
        float[] plain;
        try (DiffusionPipeline pipeline = engine.open(base); PipelineOutput out = pipeline.run(request().build())) {
            plain = out.latents().toFloatArray();
        }
        try (DiffusionPipeline pipeline = ControlNetFixtures.open(engine, base, net)) {
            float[] off = latents(pipeline, request().control(ControlImage.of(ControlNetFixtures.edges(64), 0)));
            float[] guided = latents(pipeline, request().control(ControlImage.of(ControlNetFixtures.edges(64))));
            pipeline.setAsyncConfig(new AsyncConfig(2, 1, 1, false));
            float[] async = latents(pipeline, request().control(ControlImage.of(ControlNetFixtures.edges(64))));
            assertThat(off).containsExactly(plain);
            assertThat(ControlNetMergeTest.maxDifference(guided, plain)).isGreaterThan(1e-4f);
            assertThat(ControlNetMergeTest.maxDifference(async, guided)).isGreaterThan(0f);
            assertThat(async).doesNotContain(Float.NaN);
        }
    }

    private static GenerationRequest.Builder request() {
        return GenerationRequest.builder("a red bicycle").steps(4).guidanceScale(7.5).seed(5).size(64, 64);
    }

    private static float[] latents(DiffusionPipeline pipeline, GenerationRequest.Builder request) {
        try (PipelineOutput out = pipeline.run(request.build())) {
            return out.latents().toFloatArray();
        }
    }
}
