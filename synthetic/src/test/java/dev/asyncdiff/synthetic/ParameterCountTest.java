package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import dev.asyncdiff.onnx.graph.Initializer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Full-scale parameter counts, from the builders alone (nothing is generated or written). */
class ParameterCountTest {
    private static final Weights WEIGHTS = new Weights(0);

    @Test
    void unetsMatchTheReleasedModels() {
        assertThat(unet(Family.SD15)).isEqualTo(859_520_964L);
        assertThat(unet(Family.SD21)).isEqualTo(865_910_724L);
        assertThat(unet(Family.SDXL)).isEqualTo(2_567_463_684L);
    }

    /**
     * The inpainting checkpoints (runwayml/stable-diffusion-inpainting, diffusers/stable-diffusion-xl-1.0-inpainting-0.1)
     * publish the base model's {@code unet/config.json} with {@code in_channels} 9 instead of 4: only conv_in's
     * weight grows, by (9 − 4) · 320 · 3 · 3 = 14,400 parameters.
     */
    @Test
    void inpaintingUnetsAddFiveInputChannelsToConvIn() {
        assertThat(unet(Family.SD15_INPAINT)).isEqualTo(859_520_964L + 14_400L);
        assertThat(unet(Family.SDXL_INPAINT)).isEqualTo(2_567_463_684L + 14_400L);
        assertThat(FamilyPreset.of(Family.SDXL_INPAINT, Scale.TINY).unet().toDiffusersConfig())
                .containsEntry("in_channels", 9).containsEntry("out_channels", 4);
        assertThat(PipelineIndex.of(Family.SDXL_INPAINT)).containsEntry("_class_name", "StableDiffusionXLInpaintPipeline");
        assertThat(SchedulerConfigs.of(Family.SD15_INPAINT)).isEqualTo(SchedulerConfigs.of(Family.SD15));
    }

    @Test
    void vaeDecoderWithPostQuantConvMatchesTheReleasedModel() {
        for (Family family : new Family[] {Family.SD15, Family.SD21, Family.SDXL}) {
            VaeConfig vae = FamilyPreset.of(family, Scale.FULL).vae();
            assertThat(VaeGraphs.decoder(vae, WEIGHTS, DType.FP16).parameterCount()).isEqualTo(49_490_199L);
        }
    }

    /**
     * SD 3 Medium's {@code SD3Transformer2DModel}: 2,028,328,000 trainable parameters, derived from
     * the published {@code transformer/config.json} of stabilityai/stable-diffusion-3-medium-diffusers
     * (num_layers 24, attention_head_dim 64, num_attention_heads 24, patch_size 2, in_channels 16,
     * joint_attention_dim 4096, caption_projection_dim 1536, pooled_projection_dim 2048,
     * pos_embed_max_size 192, out_channels 16) through diffusers' modules, with C = 24 * 64 = 1536:
     * <ul>
     * <li>pos_embed.proj, Conv2d(16, C, 2, stride 2): 16*2*2*C + C = 99,840;
     * <li>time_text_embed.timestep_embedder, Linear(256, C) and Linear(C, C): 256C + C + C^2 + C = 2,755,584;
     * <li>time_text_embed.text_embedder, Linear(2048, C) and Linear(C, C): 2048C + C + C^2 + C = 5,508,096;
     * <li>context_embedder, Linear(4096, 1536): 6,292,992;
     * <li>each of blocks 0..22: norm1 and norm1_context (AdaLayerNormZero, Linear(C, 6C)) 2 * 14,164,992,
     *     attn (to_q/k/v, add_q/k/v_proj, to_out.0, to_add_out: 8 Linear(C, C)) 18,886,656, ff and ff_context
     *     (Linear(C, 4C), Linear(4C, C)) 2 * 18,882,048: 84,980,736, times 23 = 1,954,556,928;
     * <li>block 23 (context pre-only): norm1 14,164,992, norm1_context (AdaLayerNormContinuous, Linear(C, 2C))
     *     4,721,664, attn without to_add_out 16,525,824, ff 18,882,048: 54,294,528;
     * <li>norm_out (Linear(C, 2C)) 4,721,664 and proj_out (Linear(C, 2*2*16)) 98,368.
     * </ul>
     * The sum is diffusers' {@code num_parameters()} for the released model. The graph also holds the
     * persistent buffer {@code pos_embed.pos_embed}, 192 * 192 * C = 56,623,104 values, which the
     * checkpoint stores and an export keeps as an initializer but which is not a parameter.
     */
    @Test
    void sd3TransformerMatchesTheReleasedModel() {
        Sd3TransformerConfig cfg = FamilyPreset.of(Family.SD3, Scale.FULL).transformer();
        long block = 2 * 14_164_992L + 18_886_656L + 2 * 18_882_048L;
        long lastBlock = 14_164_992L + 4_721_664L + 16_525_824L + 18_882_048L;
        long expected = 99_840L + 2_755_584L + 5_508_096L + 6_292_992L + 23 * block + lastBlock + 4_721_664L + 98_368L;
        assertThat(expected).isEqualTo(2_028_328_000L);
        long buffer = Sd3TransformerGraph.positionBufferSize(cfg);
        assertThat(buffer).isEqualTo(56_623_104L);
        assertThat(Sd3TransformerGraph.build(cfg, WEIGHTS, DType.FP16).parameterCount() - buffer).isEqualTo(expected);
    }

    /**
     * T5 v1.1 XXL's encoder (d_model 4096, d_kv 64 x 64 heads, d_ff 10240, 24 layers, vocabulary 32,128):
     * shared 32,128 * 4096, per block q/k/v/o 4 * 4096^2 + two norms 2 * 4096 + wi_0/wi_1/wo 3 * 4096 * 10240,
     * the relative bias 32 * 64 and the final norm 4096: 4,762,310,656, transformers' count for
     * {@code T5EncoderModel}; SD 3's VAE: 16 latent channels and no quant convs change SDXL's VAE to
     * an encoder of 34,274,208 and a decoder of 49,545,475 (83,819,683 together, diffusers' count).
     */
    @Test
    void sd3TextEncoderAndVaeMatchTheReleasedModels() {
        FamilyPreset sd3 = FamilyPreset.of(Family.SD3, Scale.FULL);
        long block = 4 * 4096L * 4096 + 2 * 4096 + 3 * 4096L * 10240;
        assertThat(T5EncoderGraph.build(sd3.textEncoder3(), WEIGHTS, DType.FP16).parameterCount())
                .isEqualTo(32_128L * 4096 + 24 * block + 32 * 64 + 4096).isEqualTo(4_762_310_656L);
        assertThat(VaeGraphs.encoder(sd3.vae(), WEIGHTS, DType.FP16).parameterCount()).isEqualTo(34_274_208L);
        assertThat(VaeGraphs.decoder(sd3.vae(), WEIGHTS, DType.FP16).parameterCount()).isEqualTo(49_545_475L);
        assertThat(clip(sd3.textEncoder())).as("CLIP-L with projection").isEqualTo(123_650_304L);
        assertThat(clip(sd3.textEncoder2())).isEqualTo(694_659_840L);
    }

    /**
     * The x4 upscaler's {@code UNet2DConditionModel}: 473,398,020 parameters, derived from its published
     * {@code unet/config.json} (in 7, out 4, block_out_channels 256, 512, 512, 1024, layers_per_block 2,
     * cross_attention_dim 1024, linear projections, only_cross_attention true, true, true, false,
     * num_class_embeds 1000) through diffusers' modules, with the time embedding T = 4 * 256 = 1024:
     * <ul>
     * <li>conv_in, Conv2d(7, 256, 3): 16,384; time_embedding, Linear(256, T) and Linear(T, T): 1,312,768;
     *     class_embedding, Embedding(1000, T): 1,024,000; conv_norm_out 512; conv_out, Conv2d(256, 4, 3): 9,220;
     * <li>a ResnetBlock2D(i, o): norm1 2i, conv1 9io + o, time_emb_proj To + o, norm2 2o, conv2 9o^2 + o and,
     *     when i != o, conv_shortcut io + o: 1,443,584 for 256 to 256, 5,246,464 for 512, 19,930,112 for 1024;
     * <li>a Transformer2DModel over C channels: norm 2C, proj_in and proj_out 2(C^2 + C), one block with three
     *     LayerNorms 6C, attn1 (to_q C^2, to_k and to_v 2KC, to_out.0 C^2 + C) where K is 1024 with
     *     only_cross_attention and C without, attn2 (K = 1024), ff (GEGLU Linear(C, 8C), Linear(4C, C)):
     *     6,826,496 at C = 512 with only_cross_attention, 23,090,176 at C = 1024 without;
     * <li>down_blocks.0 (2 ResNets, downsampler Conv2d(256, 256, 3)) 3,477,248; down_blocks.1 (ResNets 256 to
     *     512 and 512, 2 transformers, downsampler) 25,457,152; down_blocks.2 26,505,728; down_blocks.3
     *     (ResNets 512 to 1024 and 1024, 2 transformers, no downsampler) 81,846,272;
     * <li>mid_block (2 ResNets, a transformer whose attn1 is self-attention) 62,950,400;
     * <li>up_blocks.0 (ResNets from 2048, 2048 and 1536 channels, 3 transformers, upsampler) 167,867,392;
     *     up_blocks.1 (from 1536, 1024, 1024 to 512) 49,856,512; up_blocks.2 (from 1024, 1024, 768) 45,922,816;
     *     up_blocks.3 (from 768, 512, 512 to 256, no attention) 7,151,616.
     * </ul>
     * No published figure for the released checkpoint was found, so this is derived from the config, not
     * checked against the hub; a PyTorch build of the same module tree (torch.nn modules laid out as
     * diffusers lays them out) gave the same count and the same parameter names and shapes.
     */
    @Test
    void x4UpscalerUnetFollowsItsConfig() {
        GraphBuilder unet = UNetGraph.build(FamilyPreset.of(Family.X4_UPSCALER, Scale.FULL).unet(), WEIGHTS, DType.FP16);
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("conv_in", 16_384L);
        expected.put("time_embedding", 1_312_768L);
        expected.put("class_embedding", 1_024_000L);
        expected.put("down_blocks.0", 3_477_248L);
        expected.put("down_blocks.1", 25_457_152L);
        expected.put("down_blocks.2", 26_505_728L);
        expected.put("down_blocks.3", 81_846_272L);
        expected.put("mid_block", 62_950_400L);
        expected.put("up_blocks.0", 167_867_392L);
        expected.put("up_blocks.1", 49_856_512L);
        expected.put("up_blocks.2", 45_922_816L);
        expected.put("up_blocks.3", 7_151_616L);
        expected.put("conv_norm_out", 512L);
        expected.put("conv_out", 9_220L);
        assertThat(byModule(unet, "")).containsExactlyInAnyOrderEntriesOf(expected);
        long total = expected.values().stream().mapToLong(Long::longValue).sum();
        assertThat(total).isEqualTo(473_398_020L);
        assertThat(unet.parameterCount()).isEqualTo(total);
    }

    /**
     * The x4 upscaler's VAE decoder, with post_quant_conv: 32,965,399 parameters from
     * {@code x4-upscaling.yaml}'s autoencoder (ch 128, ch_mult 1, 2, 4, 2 ResNets per block, 4 latent channels)
     * through diffusers' {@code Decoder}: post_quant_conv Conv2d(4, 4, 1) 20; conv_in Conv2d(4, 512, 3) 18,944;
     * mid_block (two ResNets of 512 without time embedding, 4,721,664 each, and a one-head attention with
     * group_norm and biased to_q, to_k, to_v, to_out.0, 1,051,648) 10,494,976; up_blocks.0 (3 ResNets of 512,
     * upsampler Conv2d(512, 512, 3)) 16,524,800; up_blocks.1 (512 to 256, 256, 256, upsampler) 4,855,296;
     * up_blocks.2 (256 to 128, 128, 128, no upsampler) 1,067,648; conv_norm_out 256; conv_out Conv2d(128, 3, 3)
     * 3,459. It is SD's 49,490,199-parameter decoder without its 512-channel fourth level. Derived from the
     * config and cross-checked on the same PyTorch build, not against the hub.
     */
    @Test
    void x4UpscalerVaeDecoderFollowsItsConfig() {
        GraphBuilder decoder = VaeGraphs.decoder(FamilyPreset.of(Family.X4_UPSCALER, Scale.FULL).vae(), WEIGHTS,
                DType.FP16);
        Map<String, Long> expected = new LinkedHashMap<>();
        expected.put("post_quant_conv", 20L);
        expected.put("conv_in", 18_944L);
        expected.put("mid_block", 10_494_976L);
        expected.put("up_blocks.0", 16_524_800L);
        expected.put("up_blocks.1", 4_855_296L);
        expected.put("up_blocks.2", 1_067_648L);
        expected.put("conv_norm_out", 256L);
        expected.put("conv_out", 3_459L);
        assertThat(byModule(decoder, "decoder.")).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(decoder.parameterCount()).isEqualTo(32_965_399L);
    }

    /**
     * The released ControlNets: lllyasviel/sd-controlnet-canny (and every lllyasviel ControlNet 1.1 for SD 1.5,
     * e.g. control_v11p_sd15_canny, which share its config) has 361,279,120 parameters and
     * diffusers/controlnet-canny-sdxl-1.0 has 1,251,014,160. Sources:
     * <ul>
     * <li>published counts: third-party logs of the loaded checkpoints found by a code search (no model card gives a
     *     count): a training script's parameter audit printing {@code ControlNet: Trainable= 361,279,120} beside SD 1.5's
     *     UNet at 859,520,964 and its text encoder at 123,060,480 (both as {@link #unetsMatchTheReleasedModels} and
     *     {@link #textEncodersMatchTheReleasedModels}), a paper's table counting ControlNet-Canny and -HED at 361,279,120
     *     from the downloaded weights; for SDXL, notes listing an SDXL ControlNet at 1,251,014,160 parameters in 844 tensors
     *     beside the SDXL base UNet at 2,567,463,684, and a report measuring xinsir/controlnet-scribble-sdxl-1.0 (same
     *     architecture) at 1,251,014,160;
     * <li>checkpoint sizes: sd-controlnet-canny's fp32 {@code diffusion_pytorch_model.safetensors} is 1.45 GB
     *     (361,279,120 * 4 = 1,445,116,480 bytes), controlnet-canny-sdxl-1.0's is 5 GB and its fp16 variant 2.5 GB
     *     (1,251,014,160 * 4 = 5,004,056,640; * 2 = 2,502,028,320);
     * <li>a rebuild in torch (plain torch.nn modules laid out as diffusers v0.29.2 {@code ControlNetModel} lays them
     *     out, from the published config.json) gives the same totals, the per-module counts below, and the same 340
     *     (SD 1.5) and 844 (SDXL) parameter names and shapes as this graph (linear weights transposed).
     * </ul>
     * Derivation: the encoder is the UNet's ({@code conv_in}, {@code time_embedding}, SDXL's {@code add_embedding},
     * the down blocks and the mid block, module for module); {@code controlnet_cond_embedding} with channels 16, 32,
     * 96, 256: conv_in 3 to 16 448, blocks 16 to 16 2,320, 16 to 32 4,640, 32 to 32 9,248, 32 to 96 27,744, 96 to 96
     * 83,040, 96 to 256 221,440, conv_out 256 to 320 737,600: 1,086,480; the 1x1 {@code controlnet_down_blocks} C^2 + C
     * over the down residuals' channels (SD 1.5: 4 x 320, 3 x 640, 5 x 1280 = 9,840,000; SDXL: 4 x 320, 3 x 640,
     * 2 x 1280 = 4,920,960) and {@code controlnet_mid_block} 1280^2 + 1280 = 1,639,680.
     */
    @Test
    void controlNetsMatchTheReleasedModels() {
        Map<String, Long> sd15 = new LinkedHashMap<>();
        sd15.put("conv_in", 11_840L);
        sd15.put("time_embedding", 2_050_560L);
        sd15.put("controlnet_cond_embedding", 1_086_480L);
        sd15.put("down_blocks.0", 10_524_480L);
        sd15.put("down_blocks.1", 36_818_560L);
        sd15.put("down_blocks.2", 139_992_320L);
        sd15.put("down_blocks.3", 62_277_120L);
        sd15.put("mid_block", 97_038_080L);
        sd15.put("controlnet_mid_block", 1_639_680L);
        checkControlNet(Family.SD15, sd15, 9_840_000L, 361_279_120L);

        Map<String, Long> sdxl = new LinkedHashMap<>();
        sdxl.put("conv_in", 11_840L);
        sdxl.put("time_embedding", 2_050_560L);
        sdxl.put("add_embedding", 5_245_440L);
        sdxl.put("controlnet_cond_embedding", 1_086_480L);
        sdxl.put("down_blocks.0", 5_432_000L);
        sdxl.put("down_blocks.1", 60_105_600L);
        sdxl.put("down_blocks.2", 757_404_160L);
        sdxl.put("mid_block", 413_117_440L);
        sdxl.put("controlnet_mid_block", 1_639_680L);
        checkControlNet(Family.SDXL, sdxl, 4_920_960L, 1_251_014_160L);
    }

    private static void checkControlNet(Family family, Map<String, Long> expected, long zeroConvs, long total) {
        ControlNetConfig cfg = ControlNetConfig.of(family, Scale.FULL);
        ControlNetGraph controlnet = ControlNetGraph.build(cfg, WEIGHTS, DType.FP16);
        Map<String, Long> modules = byModule(controlnet.initializers(), "");
        long projections = 0;
        for (int k = 0; k < cfg.downResidualCount(); k++) {
            projections += modules.remove("controlnet_down_blocks." + k);
        }
        assertThat(projections).as(family + " controlnet_down_blocks").isEqualTo(zeroConvs);
        assertThat(modules).as(family.cliName()).containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(expected.values().stream().mapToLong(Long::longValue).sum() + zeroConvs).isEqualTo(total);
        assertThat(controlnet.parameterCount()).isEqualTo(total);
        Map<String, Long> unet = byModule(UNetGraph.build(cfg.unet(), WEIGHTS, DType.FP16).initializers(), "");
        for (String module : List.of("conv_in", "time_embedding", "down_blocks.0", "mid_block")) {
            assertThat(modules.get(module)).as(family + " " + module + " is the UNet's").isEqualTo(unet.get(module));
        }
    }

    /** Parameters per top-level module ({@code conv_in}, {@code down_blocks.1}, …), names first stripped of {@code prefix}. */
    private static Map<String, Long> byModule(GraphBuilder graph, String prefix) {
        return byModule(graph.initializers(), prefix);
    }

    private static Map<String, Long> byModule(List<Initializer> initializers, String prefix) {
        Map<String, Long> counts = new LinkedHashMap<>();
        initializers.forEach(initializer -> {
            String name = initializer.name().startsWith(prefix) ? initializer.name().substring(prefix.length())
                    : initializer.name();
            String[] parts = name.split("\\.");
            String module = parts[1].chars().allMatch(Character::isDigit) ? parts[0] + "." + parts[1] : parts[0];
            counts.merge(module, Arrays.stream(initializer.shape()).reduce(1, Math::multiplyExact), Long::sum);
        });
        return counts;
    }

    @Test
    void textEncodersMatchTheReleasedModels() {
        assertThat(clip(FamilyPreset.of(Family.SD15, Scale.FULL).textEncoder())).isEqualTo(123_060_480L);
        assertThat(clip(FamilyPreset.of(Family.SDXL, Scale.FULL).textEncoder())).isEqualTo(123_060_480L);
        assertThat(clip(FamilyPreset.of(Family.SD21, Scale.FULL).textEncoder())).isEqualTo(340_387_840L);
        assertThat(clip(FamilyPreset.of(Family.SDXL, Scale.FULL).textEncoder2())).isEqualTo(694_659_840L);
    }

    private static long unet(Family family) {
        return UNetGraph.build(FamilyPreset.of(family, Scale.FULL).unet(), WEIGHTS, DType.FP16).parameterCount();
    }

    private static long clip(ClipTextConfig cfg) {
        return ClipTextEncoderGraph.build(cfg, WEIGHTS, DType.FP16).parameterCount();
    }
}
