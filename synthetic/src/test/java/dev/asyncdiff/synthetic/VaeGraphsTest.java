package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class VaeGraphsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // SD 3 in Sd3*Test, video in their own
    void tinyEncoderMapsImagesToLatentMoments(Family family) throws OrtException {
        VaeConfig cfg = FamilyPreset.of(family, Scale.TINY).vae();
        try (GraphRun run = new GraphRun(VaeGraphs.encoder(cfg, new Weights(3), DType.FP32), dir.resolve("enc.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("sample");
            assertThat(run.inputInfo().get("sample").getShape()).containsExactly(-1, 3, -1, -1);
            assertThat(run.outputInfo().keySet()).containsExactly("latent_parameters");
            GraphRun.Result latents = run.randomInput("sample", 1, 2, 3, 64, 40).run().get("latent_parameters");
            int factor = cfg.downscaleFactor();
            assertThat(latents.shape()).containsExactly(2, 8, 64 / factor, 40 / factor);
            assertThat(latents.std()).isBetween(0.01, 10.0);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // SD 3 in Sd3*Test, video in their own
    void tinyDecoderMapsLatentsToImages(Family family) throws OrtException {
        VaeConfig cfg = FamilyPreset.of(family, Scale.TINY).vae();
        try (GraphRun run = new GraphRun(VaeGraphs.decoder(cfg, new Weights(3), DType.FP32), dir.resolve("dec.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("latent_sample");
            assertThat(run.inputInfo().get("latent_sample").getShape()).containsExactly(-1, 4, -1, -1);
            assertThat(run.outputInfo().keySet()).containsExactly("sample");
            GraphRun.Result image = run.randomInput("latent_sample", 1, 1, 4, 8, 16).run().get("sample");
            int factor = cfg.downscaleFactor();
            assertThat(factor).isEqualTo(family.upscaler() ? 4 : 8);
            assertThat(image.shape()).containsExactly(1, 3, 8 * factor, 16 * factor);
            assertThat(image.std()).as("an image of order one, not a constant").isBetween(0.05, 5.0);
        }
    }

    @Test
    void namesFollowDiffusersAutoencoderKl() {
        VaeConfig full = FamilyPreset.of(Family.SD15, Scale.FULL).vae();
        List<String> decoder = VaeGraphs.decoder(full, new Weights(0), DType.FP16).initializers().stream()
                .map(i -> i.name()).toList();
        assertThat(decoder).contains("post_quant_conv.weight", "decoder.conv_in.weight",
                "decoder.mid_block.attentions.0.group_norm.weight", "decoder.mid_block.attentions.0.to_q.bias",
                "decoder.mid_block.attentions.0.to_out.0.weight", "decoder.up_blocks.0.resnets.2.conv2.weight",
                "decoder.up_blocks.2.resnets.0.conv_shortcut.weight", "decoder.up_blocks.2.upsamplers.0.conv.weight",
                "decoder.conv_norm_out.bias", "decoder.conv_out.weight")
                .doesNotContain("decoder.up_blocks.3.upsamplers.0.conv.weight");
        List<String> encoderNodes = VaeGraphs.encoder(full, new Weights(0), DType.FP16).skeleton().getGraph()
                .getNodeList().stream().map(n -> n.getName()).toList();
        assertThat(encoderNodes).contains("/encoder/down_blocks.0/downsamplers.0/Pad",
                "/encoder/down_blocks.0/downsamplers.0/conv/Conv", "/encoder/mid_block/attentions.0/Softmax",
                "/encoder/conv_out/Conv", "/quant_conv/Conv")
                .doesNotContain("/encoder/down_blocks.3/downsamplers.0/conv/Conv");
        assertThat(VaeGraphs.encoder(full, new Weights(0), DType.FP16).parameterCount())
                .as("the encoder with quant_conv: 83,653,863 of the released VAE minus the decoder").isEqualTo(34_163_664L);
    }

    @Test
    void sameSeedWritesIdenticalBytes() throws IOException {
        VaeConfig cfg = FamilyPreset.of(Family.SDXL, Scale.TINY).vae();
        VaeGraphs.decoder(cfg, new Weights(9), DType.FP16).write(dir.resolve("a.onnx"), ExternalDataPolicy.INLINE);
        VaeGraphs.decoder(cfg, new Weights(9), DType.FP16).write(dir.resolve("b.onnx"), ExternalDataPolicy.INLINE);
        assertThat(Files.readAllBytes(dir.resolve("a.onnx"))).isEqualTo(Files.readAllBytes(dir.resolve("b.onnx")));
    }
}
