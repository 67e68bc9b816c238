package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TemporalVaeGraphTest {
    private static final TemporalVaeConfig TINY = TemporalVaeConfig.of(Scale.TINY);
    private static final int LATENT_SIDE = 4;
    private static final int FRAME_VALUES = 4 * LATENT_SIDE * LATENT_SIDE;

    @TempDir
    Path dir;

    @Test
    void decodesChunksOfAnyLengthAndMixesFramesInTime() throws OrtException {
        try (GraphRun run = new GraphRun(TemporalVaeGraph.decoder(TINY, new Weights(5), DType.FP32),
                dir.resolve("vae_decoder.onnx"))) {
            assertThat(run.inputInfo().keySet()).containsExactly("latent_sample", "num_frames");
            assertThat(run.inputInfo().get("latent_sample").getShape()).containsExactly(-1, 4, -1, -1);
            assertThat(run.inputInfo().get("num_frames").type).isEqualTo(OnnxJavaType.INT64);
            assertThat(run.inputInfo().get("num_frames").getShape()).containsExactly(1);
            assertThat(run.outputInfo().keySet()).containsExactly("sample");

            float[] five = latents(5, 11);
            GraphRun.Result clip = decode(run, five, 5);
            int side = LATENT_SIDE * TINY.downscaleFactor();
            assertThat(clip.shape()).containsExactly(5, 3, side, side);
            assertThat(clip.std()).as("an image of order one, not a constant").isBetween(0.05, 20.0);
            GraphRun.Result two = decode(run, Arrays.copyOf(five, 2 * FRAME_VALUES), 2);
            assertThat(two.shape()).containsExactly(2, 3, side, side);

            float[] changed = five.clone();
            for (int i = 0; i < FRAME_VALUES; i++) {
                changed[i] += 1f;
            }
            GraphRun.Result other = decode(run, changed, 5);
            for (int f = 1; f < 5; f++) {
                assertThat(maxDifference(frame(other, f), frame(clip, f)))
                        .as("frame %d sees frame 0 through the temporal layers", f).isGreaterThan(1e-3);
            }

            float[] first = Arrays.copyOf(five, FRAME_VALUES);
            float[] alone = decode(run, first, 1).values();
            assertThat(maxDifference(frame(clip, 0), alone)).as("frame 0 among its neighbours vs alone")
                    .isGreaterThan(1e-3);
            GraphRun.Result singles = decode(run, Arrays.copyOf(five, 2 * FRAME_VALUES), 1);
            assertThat(maxDifference(frame(singles, 0), alone)).as("num_frames 1 splits two frames into two clips")
                    .isLessThan(1e-4);
        }
    }

    @Test
    void fp16DecoderRuns() throws OrtException {
        Path model = dir.resolve("vae_decoder_fp16.onnx");
        TemporalVaeGraph.decoder(TINY, new Weights(5), DType.FP16).write(model, ExternalDataPolicy.AUTO);
        OrtRunner.Output sample = OrtRunner.run(model, Map.of(
                "latent_sample", OrtRunner.Input.random(2, 3, 4, LATENT_SIDE, LATENT_SIDE),
                "num_frames", OrtRunner.Input.of(i -> 3, 1))).get("sample");
        assertThat(sample.shape()).containsExactly(3, 3, 32, 32);
        sample.assertFiniteAndVaried("fp16 sample");
    }

    @Test
    void namesFollowDiffusersTemporalDecoder() {
        TemporalVaeConfig full = TemporalVaeConfig.of(Scale.FULL);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        TemporalVaeGraph.decoder(full, new Weights(0), DType.FP16).initializers()
                .forEach(i -> shapes.put(i.name(), i.shape()));
        assertThat(shapes).containsKeys("decoder.conv_in.weight",
                "decoder.mid_block.resnets.0.spatial_res_block.conv1.weight",
                "decoder.mid_block.resnets.1.temporal_res_block.norm2.bias",
                "decoder.mid_block.attentions.0.group_norm.weight", "decoder.mid_block.attentions.0.to_q.bias",
                "decoder.mid_block.attentions.0.to_out.0.weight",
                "decoder.up_blocks.0.resnets.2.time_mixer.mix_factor",
                "decoder.up_blocks.2.resnets.0.spatial_res_block.conv_shortcut.weight",
                "decoder.up_blocks.2.upsamplers.0.conv.weight", "decoder.up_blocks.3.resnets.2.temporal_res_block.conv2.bias",
                "decoder.conv_norm_out.weight", "decoder.conv_out.weight", "decoder.time_conv_out.bias")
                .doesNotContainKeys("post_quant_conv.weight", "decoder.up_blocks.3.upsamplers.0.conv.weight",
                        "decoder.up_blocks.2.resnets.0.temporal_res_block.conv_shortcut.weight",
                        "decoder.mid_block.resnets.2.spatial_res_block.conv1.weight");
        assertThat(shapes.get("decoder.time_conv_out.weight")).containsExactly(3, 3, 3, 1, 1);
        assertThat(shapes.get("decoder.up_blocks.1.resnets.0.temporal_res_block.conv1.weight"))
                .containsExactly(512, 512, 3, 1, 1);
        assertThat(shapes.get("decoder.up_blocks.3.resnets.1.time_mixer.mix_factor")).containsExactly(1);
        assertThat(shapes.get("decoder.mid_block.attentions.0.to_k.weight")).containsExactly(512, 512);
    }

    /**
     * stabilityai/stable-video-diffusion-img2vid-xt's {@code vae} ({@code AutoencoderKLTemporalDecoder}) has
     * 97,742,847 parameters: the Ctrl-Crash paper (an SVD img2vid-xt fine-tune), Table G.6 "Number of parameters by
     * submodule", counts its VAE-Encoder at 34,163,592 (the {@code encoder} module, without {@code quant_conv}),
     * its VAE-Decoder at 63,579,183 and its CLIP image encoder at 632,076,800; {@code quant_conv}, Conv2d(8, 8, 1),
     * adds 72. Derivation of the decoder from diffusers' {@code TemporalDecoder} (block_out_channels 128, 256, 512,
     * 512, layers_per_block 2): a {@code SpatioTemporalResBlock} of c to c channels is a ResnetBlock2D
     * (18c^2 + 6c), a TemporalResnetBlock (two GroupNorms, two Conv3d (3, 1, 1): 6c^2 + 6c) and a one-element
     * mix_factor, 24c^2 + 12c + 1: 6,297,601 at 512, 1,575,937 at 256, 394,753 at 128; 512 to 256 adds a
     * conv_shortcut: 2,297,601, 256 to 128: 575,361.
     * <ul>
     * <li>conv_in Conv2d(4, 512, 3) 18,944; mid_block (two such blocks at 512, a one-head attention with group_norm
     *     and biased to_q, to_k, to_v, to_out.0, 1,051,648) 13,646,850;
     * <li>up_blocks.0 and .1 (three blocks at 512, upsampler Conv2d(512, 512, 3) 2,359,808) 21,252,611 each;
     *     up_blocks.2 (512 to 256, 256, 256, upsampler 590,080) 6,039,555; up_blocks.3 (256 to 128, 128, 128) 1,364,867;
     * <li>conv_norm_out 256, conv_out Conv2d(128, 3, 3) 3,459, time_conv_out Conv3d(3, 3, (3, 1, 1)) 30.
     * </ul>
     */
    @Test
    void fullModelMatchesTheReleasedVae() {
        TemporalVaeConfig full = TemporalVaeConfig.of(Scale.FULL);
        GraphBuilder decoder = TemporalVaeGraph.decoder(full, new Weights(0), DType.FP16);
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("conv_in", 18_944L);
        expected.put("mid_block", 13_646_850L);
        expected.put("up_blocks.0", 21_252_611L);
        expected.put("up_blocks.1", 21_252_611L);
        expected.put("up_blocks.2", 6_039_555L);
        expected.put("up_blocks.3", 1_364_867L);
        expected.put("conv_norm_out", 256L);
        expected.put("conv_out", 3_459L);
        expected.put("time_conv_out", 30L);
        assertThat(byModule(decoder.initializers(), "decoder.")).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(decoder.parameterCount()).isEqualTo(63_579_183L);

        GraphBuilder encoder = VaeGraphs.encoder(full.encoderConfig(), new Weights(0), DType.FP16);
        Map<String, Long> encoderModules = byModule(encoder.initializers(), "");
        assertThat(encoderModules).containsOnlyKeys("encoder", "quant_conv").containsEntry("quant_conv", 72L)
                .containsEntry("encoder", 34_163_592L);
        assertThat(TemporalVaeGraph.parameterCount(full)).isEqualTo(34_163_592L + 72L + 63_579_183L)
                .isEqualTo(97_742_847L);
    }

    /** diffusers builds {@code AutoencoderKLTemporalDecoder}'s {@code Encoder} and {@code quant_conv} as {@code AutoencoderKL}'s. */
    @Test
    void encoderIsStableDiffusionsEncoder() {
        VaeConfig sd = FamilyPreset.of(Family.SD15, Scale.FULL).vae();
        assertThat(signature(VaeGraphs.encoder(TemporalVaeConfig.of(Scale.FULL).encoderConfig(), new Weights(0),
                DType.FP16))).isEqualTo(signature(VaeGraphs.encoder(sd, new Weights(0), DType.FP16)));
    }

    @Test
    void configHasTheKeysOfAutoencoderKlTemporalDecoder() {
        Map<String, Object> config = TemporalVaeConfig.of(Scale.FULL).toDiffusersConfig();
        assertThat(config).containsEntry("_class_name", "AutoencoderKLTemporalDecoder")
                .containsEntry("block_out_channels", List.of(128, 256, 512, 512)).containsEntry("layers_per_block", 2)
                .containsEntry("latent_channels", 4).containsEntry("in_channels", 3).containsEntry("out_channels", 3)
                .containsEntry("scaling_factor", 0.18215).containsEntry("sample_size", 768)
                .containsEntry("force_upcast", true)
                .containsEntry("down_block_types", List.of("DownEncoderBlock2D", "DownEncoderBlock2D",
                        "DownEncoderBlock2D", "DownEncoderBlock2D"))
                .doesNotContainKeys("up_block_types", "norm_num_groups", "use_post_quant_conv");
        for (Scale scale : Scale.values()) {
            TemporalVaeConfig cfg = TemporalVaeConfig.of(scale);
            assertThat(cfg.downscaleFactor()).as(scale.cliName()).isEqualTo(8);
            assertThat(cfg.layersPerBlock()).as(scale.cliName() + " keeps the mid-block attention").isEqualTo(2);
        }
    }

    private static GraphRun.Result decode(GraphRun run, float[] latents, long numFrames) throws OrtException {
        long frames = latents.length / FRAME_VALUES;
        return run.floatInput("latent_sample", latents, frames, 4, LATENT_SIDE, LATENT_SIDE)
                .longInput("num_frames", new long[] {numFrames}, 1).run().get("sample");
    }

    private static float[] latents(int frames, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[frames * FRAME_VALUES];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (2 * random.nextDouble() - 1);
        }
        return values;
    }

    private static float[] frame(GraphRun.Result result, int index) {
        int size = result.values().length / (int) result.shape()[0];
        return Arrays.copyOfRange(result.values(), index * size, (index + 1) * size);
    }

    private static double maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** Parameters per top-level module ({@code conv_in}, {@code up_blocks.1}, …), names first stripped of {@code prefix}. */
    static Map<String, Long> byModule(List<Initializer> initializers, String prefix) {
        Map<String, Long> counts = new LinkedHashMap<>();
        for (Initializer initializer : initializers) {
            String name = initializer.name().startsWith(prefix) ? initializer.name().substring(prefix.length())
                    : initializer.name();
            String[] parts = name.split("\\.");
            String module = parts.length > 1 && parts[1].chars().allMatch(Character::isDigit)
                    ? parts[0] + "." + parts[1] : parts[0];
            counts.merge(module, initializer.elementCount(), Long::sum);
        }
        return counts;
    }

    private static List<String> signature(GraphBuilder graph) {
        return graph.initializers().stream().map(i -> i.name() + Arrays.toString(i.shape())).toList();
    }
}
