package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

/** {@link StableDiffusionPipeline#run}: the tensor-level generation compatibility checks use. */
class TensorRunTest {
    @Test
    void latentsAndUnitPixelsMatchTheImageOfTheSameGeneration(@TempDir Path splits) {
        try (OnnxBackend backend = new OnnxBackend(BackendOptions.defaults());
             StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(TestModels.tiny(Family.SDXL),
                     TestContexts.on(backend, List.of(Device.CPU), splits));
             PipelineOutput output = pipeline.run(GenerationRequest.builder("a cat").negativePrompt("fog").steps(3)
                     .guidanceScale(5.0).seed(9).size(64, 64).build())) {
            assertThat(output.latents().shape()).containsExactly(1, 4, 8, 8);
            assertThat(output.pixels().shape()).containsExactly(1, 3, 64, 64);
            float[] pixels = output.pixels().toFloatArray();
            for (float value : pixels) {
                assertThat(value).isBetween(0f, 1f);
            }
            BufferedImage image = pipeline.generate(GenerationRequest.builder("a cat").negativePrompt("fog").steps(3)
                    .guidanceScale(5.0).seed(9).size(64, 64).build()).images().get(0);
            int rgb = image.getRGB(5, 7);
            int plane = 64 * 64;
            int p = 7 * 64 + 5;
            assertThat(Math.rint(pixels[p] * 255.0)).isCloseTo((rgb >> 16) & 0xFF, org.assertj.core.data.Offset.offset(1.0));
            assertThat(Math.rint(pixels[p + plane] * 255.0)).isCloseTo((rgb >> 8) & 0xFF,
                    org.assertj.core.data.Offset.offset(1.0));
            assertThat(Math.rint(pixels[p + 2 * plane] * 255.0)).isCloseTo(rgb & 0xFF,
                    org.assertj.core.data.Offset.offset(1.0));
        }
    }

    @Test
    void aBatchComesBackWholeImageAfterImage(@TempDir Path splits) {
        GenerationRequest.Builder request = GenerationRequest.builder("a cat").steps(2).guidanceScale(5.0).seed(4)
                .size(64, 64);
        try (OnnxBackend backend = new OnnxBackend(BackendOptions.defaults());
             StableDiffusionPipeline pipeline = StableDiffusionPipeline.open(TestModels.tiny(Family.SD15),
                     TestContexts.on(backend, List.of(Device.CPU), splits));
             PipelineOutput batch = pipeline.run(request.numImages(2).build());
             PipelineOutput first = pipeline.run(request.numImages(1).build())) {
            assertThat(batch.latents().shape()).containsExactly(2, 4, 8, 8);
            assertThat(batch.pixels().shape()).containsExactly(2, 3, 64, 64);
            float[] both = batch.pixels().toFloatArray();
            float[] one = first.pixels().toFloatArray();
            assertThat(java.util.Arrays.copyOf(both, one.length)).containsExactly(one);
            assertThat(java.util.Arrays.copyOfRange(both, one.length, both.length)).isNotEqualTo(one);
        }
    }
}
