package dev.asyncdiff.synthetic;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The architectures of one family's models at one scale. {@code FULL} holds the released models'
 * real hyper-parameters; {@code TINY} and {@code SMALL} shrink widths and depths but keep every
 * block type and the family's structure (levels, attention placement, per-block transformer depth,
 * projections, SDXL's add_embedding; SD 3's three text encoders and joint blocks, with the text
 * widths in SD 3's proportions 768 : 1280 : 4096; the x4 upscaler's class embedding, cross-attention-only
 * levels and 3-level VAE).
 *
 * @param textEncoder  {@code text_encoder}
 * @param textEncoder2 {@code text_encoder_2} (SDXL and SD 3, else {@code null})
 * @param textEncoder3 {@code text_encoder_3}, the T5 encoder (SD 3 only, else {@code null})
 * @param unet         {@code unet} (SD 1.x/2.x/XL, x4), or {@code null} when the denoiser is a transformer
 * @param transformer  {@code transformer} (SD 3), or {@code null} when the denoiser is a UNet
 * @param vae          {@code vae_encoder} and {@code vae_decoder} (the x4 upscaler's folder has the decoder only)
 */
public record FamilyPreset(ClipTextConfig textEncoder, ClipTextConfig textEncoder2, T5EncoderConfig textEncoder3,
                           UNetConfig unet, Sd3TransformerConfig transformer, VaeConfig vae) {
    /** Vocabulary of the real CLIP tokenizer. */
    public static final int CLIP_VOCAB = 49408;
    /** Vocabulary of T5's SentencePiece model (32,000 pieces and 100 sentinels, padded to 32,128 in the model). */
    public static final int T5_VOCAB = 32128;
    /** Default vocabulary of the tiny text encoders (a tokenizer may replace it via {@link ClipTextConfig#withVocabSize}). */
    public static final int TINY_VOCAB = 1000;
    /** The UNet sample size of every tiny model: 32 latents, so 256×256 images by default. */
    public static final int TINY_SAMPLE = 32;
    private static final int SEQUENCE = 77;
    private static final double SD_SCALING = 0.18215;
    private static final double SDXL_SCALING = 0.13025;
    private static final double SD3_SCALING = 1.5305;
    private static final double SD3_SHIFT = 0.0609;
    private static final int SD3_LATENT_CHANNELS = 16;
    private static final double X4_SCALING = 0.08333;
    /** Rows of the x4 upscaler's class embedding: noise levels 0 to 999 (the pipeline allows up to 350). */
    private static final int X4_CLASS_EMBEDS = 1000;

    /** A UNet family's preset: no T5 encoder, no transformer. */
    public FamilyPreset(ClipTextConfig textEncoder, ClipTextConfig textEncoder2, UNetConfig unet, VaeConfig vae) {
        this(textEncoder, textEncoder2, null, unet, null, vae);
    }

    public FamilyPreset {
        Objects.requireNonNull(textEncoder, "textEncoder");
        Objects.requireNonNull(vae, "vae");
        if ((unet == null) == (transformer == null)) {
            throw new IllegalArgumentException("a preset has either a unet or a transformer as its denoiser");
        }
        if (unet != null) {
            int context = textEncoder.hiddenSize() + (textEncoder2 == null ? 0 : textEncoder2.hiddenSize());
            if (context != unet.crossAttentionDim()) {
                throw new IllegalArgumentException("unet cross_attention_dim " + unet.crossAttentionDim()
                        + " must equal the text encoders' hidden sizes together, " + context);
            }
            if (unet.hasAddEmbedding()
                    && (textEncoder2 == null || textEncoder2.projectionDim() != unet.textEmbedsDim())) {
                throw new IllegalArgumentException("SDXL's add_embedding takes text_encoder_2's projection of width "
                        + unet.textEmbedsDim());
            }
        } else {
            checkSd3(textEncoder, textEncoder2, textEncoder3, transformer, vae);
        }
    }

    private static void checkSd3(ClipTextConfig clipL, ClipTextConfig clipG, T5EncoderConfig t5,
                                 Sd3TransformerConfig transformer, VaeConfig vae) {
        if (clipG == null || t5 == null || !clipL.withProjection() || !clipG.withProjection()
                || !clipL.outputHiddenStates() || !clipG.outputHiddenStates()) {
            throw new IllegalArgumentException("SD 3 needs two CLIP encoders with projection and hidden states, and T5");
        }
        int pooled = clipL.projectionDim() + clipG.projectionDim();
        if (pooled != transformer.pooledProjectionDim()) {
            throw new IllegalArgumentException("transformer pooled_projection_dim " + transformer.pooledProjectionDim()
                    + " must equal the CLIP projections together, " + pooled);
        }
        if (t5.dModel() != transformer.jointAttentionDim()) {
            throw new IllegalArgumentException("transformer joint_attention_dim " + transformer.jointAttentionDim()
                    + " must equal T5's d_model " + t5.dModel());
        }
        int clipStates = clipL.hiddenSize() + clipG.hiddenSize();
        if (clipStates > transformer.jointAttentionDim()) {
            throw new IllegalArgumentException("the CLIP hidden states together (" + clipStates
                    + ") are zero-padded to joint_attention_dim " + transformer.jointAttentionDim()
                    + " and cannot be wider");
        }
        if (vae.latentChannels() != transformer.inChannels() || vae.latentChannels() != transformer.outChannels()) {
            throw new IllegalArgumentException("the transformer's in and out channels must equal the VAE's "
                    + vae.latentChannels() + " latent channels");
        }
    }

    /** The preset of {@code family} at {@code scale}. */
    public static FamilyPreset of(Family family, Scale scale) {
        return switch (family) {
            case SD15 -> sd15(scale);
            case SD21 -> sd21(scale);
            case SDXL -> sdxl(scale);
            case SD3 -> sd3(scale);
            case X4_UPSCALER -> x4(scale);
            case ANIMATEDIFF -> sd15(scale);   // the base's text encoder and VAE; the UNet is MotionUNetConfig's
            case SVD -> throw new IllegalArgumentException("Stable Video Diffusion has no text-to-image preset; its "
                    + "components are SvdUNetConfig's, ClipVisionConfig's and TemporalVaeConfig's");
            case SD15_INPAINT, SDXL_INPAINT -> {
                FamilyPreset preset = of(family.base(), scale);
                yield new FamilyPreset(preset.textEncoder, preset.textEncoder2, preset.textEncoder3,
                        preset.unet.withInChannels(Family.INPAINT_CHANNELS), null, preset.vae);
            }
        };
    }

    /** This preset with every CLIP text encoder's vocabulary set to {@code vocabSize} (T5 keeps its own). */
    public FamilyPreset withVocabSize(int vocabSize) {
        return new FamilyPreset(textEncoder.withVocabSize(vocabSize),
                textEncoder2 == null ? null : textEncoder2.withVocabSize(vocabSize), textEncoder3, unet, transformer,
                vae);
    }

    /** This preset with the T5 encoder's vocabulary set to {@code vocabSize}; unchanged without T5. */
    public FamilyPreset withT5VocabSize(int vocabSize) {
        return textEncoder3 == null ? this : new FamilyPreset(textEncoder, textEncoder2,
                textEncoder3.withVocabSize(vocabSize), unet, transformer, vae);
    }

    private static FamilyPreset sd15(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "quick_gelu", 32, false, false), null,
                    sdUnet(TINY_SAMPLE, List.of(32, 32, 64, 64), 1, 32, List.of(2, 2, 2, 2), false, false),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SD_SCALING, false));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "quick_gelu", 128, false, false), null,
                    sdUnet(64, List.of(32, 64, 128, 128), 1, 128, List.of(1, 1, 1, 1), false, false),
                    vae(512, List.of(32, 64, 128, 128), 1, SD_SCALING, false));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 768, 12, 12, "quick_gelu", 768, false, false), null,
                    sdUnet(64, List.of(320, 640, 1280, 1280), 2, 768, List.of(8, 8, 8, 8), false, false),
                    vae(512, List.of(128, 256, 512, 512), 2, SD_SCALING, false));
        };
    }

    private static FamilyPreset sd21(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "gelu", 32, false, false), null,
                    sdUnet(TINY_SAMPLE, List.of(32, 32, 64, 64), 1, 32, List.of(2, 2, 4, 4), true, true),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SD_SCALING, false));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "gelu", 128, false, false), null,
                    sdUnet(96, List.of(32, 64, 128, 128), 1, 128, List.of(1, 2, 4, 4), true, true),
                    vae(768, List.of(32, 64, 128, 128), 1, SD_SCALING, false));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 1024, 23, 16, "gelu", 512, false, false), null,
                    sdUnet(96, List.of(320, 640, 1280, 1280), 2, 1024, List.of(5, 10, 20, 20), true, true),
                    vae(768, List.of(128, 256, 512, 512), 2, SD_SCALING, false));
        };
    }

    private static FamilyPreset sdxl(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 32, 2, 4, "quick_gelu", 32, false, true),
                    clip(TINY_VOCAB, 32, 2, 4, "gelu", 32, true, true),
                    xlUnet(TINY_SAMPLE, List.of(32, 64, 64), 1, 64, List.of(2, 4, 4), List.of(1, 1, 2), 8, 32),
                    vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1, SDXL_SCALING, true));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 128, 4, 4, "quick_gelu", 128, false, true),
                    clip(CLIP_VOCAB, 128, 4, 4, "gelu", 128, true, true),
                    xlUnet(128, List.of(32, 64, 128), 1, 256, List.of(1, 2, 4), List.of(1, 2, 4), 32, 128),
                    vae(1024, List.of(32, 64, 128, 128), 1, SDXL_SCALING, true));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 768, 12, 12, "quick_gelu", 768, false, true),
                    clip(CLIP_VOCAB, 1280, 32, 20, "gelu", 1280, true, true),
                    xlUnet(128, List.of(320, 640, 1280), 2, 2048, List.of(5, 10, 20), List.of(1, 2, 10), 256, 1280),
                    vae(1024, List.of(128, 256, 512, 512), 2, SDXL_SCALING, true));
        };
    }

    /**
     * SD 3 Medium. Full scale: CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 with projections (as in SDXL),
     * T5 v1.1 XXL's encoder and the published {@code SD3Transformer2DModel} config (24 layers,
     * 24 heads of 64, patch 2, joint 4096, caption projection 1536, pooled 2048, position grid 192)
     * and the 16-channel VAE. The small scales keep the text widths' proportions 768 : 1280 : 4096.
     */
    private static FamilyPreset sd3(Scale scale) {
        return switch (scale) {
            case TINY -> new FamilyPreset(clip(TINY_VOCAB, 24, 2, 4, "quick_gelu", 24, true, true),
                    clip(TINY_VOCAB, 40, 2, 4, "gelu", 40, true, true),
                    new T5EncoderConfig(TINY_VOCAB, 128, 32, 320, 2, 4, 32, 128, 1e-6), null,
                    new Sd3TransformerConfig(TINY_SAMPLE, 2, SD3_LATENT_CHANNELS, 12, 32, 2, 128, 64, 64,
                            SD3_LATENT_CHANNELS, 24),
                    sd3Vae(TINY_SAMPLE * 8, List.of(32, 32, 64, 64), 1));
            case SMALL -> new FamilyPreset(clip(CLIP_VOCAB, 96, 4, 4, "quick_gelu", 96, true, true),
                    clip(CLIP_VOCAB, 160, 4, 4, "gelu", 160, true, true),
                    new T5EncoderConfig(T5_VOCAB, 512, 64, 1280, 4, 8, 32, 128, 1e-6), null,
                    new Sd3TransformerConfig(64, 2, SD3_LATENT_CHANNELS, 8, 32, 4, 512, 128, 256,
                            SD3_LATENT_CHANNELS, 48),
                    sd3Vae(512, List.of(32, 64, 128, 128), 1));
            case FULL -> new FamilyPreset(clip(CLIP_VOCAB, 768, 12, 12, "quick_gelu", 768, true, true),
                    clip(CLIP_VOCAB, 1280, 32, 20, "gelu", 1280, true, true),
                    new T5EncoderConfig(T5_VOCAB, 4096, 64, 10240, 24, 64, 32, 128, 1e-6), null,
                    new Sd3TransformerConfig(128, 2, SD3_LATENT_CHANNELS, 24, 64, 24, 4096, 1536, 2048,
                            SD3_LATENT_CHANNELS, 192),
                    sd3Vae(1024, List.of(128, 256, 512, 512), 2));
        };
    }

    /**
     * The x4 upscaler. Full scale: the published {@code unet/config.json} (in 7, out 4, block_out_channels
     * 256, 512, 512, 1024, DownBlock2D then three CrossAttnDownBlock2D, 2 layers per block, 8 heads,
     * linear projections, only_cross_attention true, true, true, false, num_class_embeds 1000, sample 128),
     * SD 2.1's OpenCLIP text encoder (cross_attention_dim 1024) and the VAE of Stability's
     * {@code x4-upscaling.yaml} (ch 128, ch_mult 1, 2, 4, 2 ResNets per block, resolution 256), whose
     * latents the pipeline scales by 0.08333; {@code force_upcast} takes diffusers' default, true.
     */
    private static FamilyPreset x4(Scale scale) {
        ClipTextConfig text = sd21(scale).textEncoder();
        return switch (scale) {
            case TINY -> new FamilyPreset(text, null, x4Unet(TINY_SAMPLE, List.of(32, 32, 32, 64), 1, text, 2),
                    vae(TINY_SAMPLE * 4, List.of(32, 32, 64), 1, X4_SCALING, true));
            case SMALL -> new FamilyPreset(text, null, x4Unet(128, List.of(64, 128, 128, 256), 1, text, 4),
                    vae(256, List.of(32, 64, 128), 1, X4_SCALING, true));
            case FULL -> new FamilyPreset(text, null, x4Unet(128, List.of(256, 512, 512, 1024), 2, text, 8),
                    vae(256, List.of(128, 256, 512), 2, X4_SCALING, true));
        };
    }

    private static UNetConfig x4Unet(int sampleSize, List<Integer> channels, int layersPerBlock, ClipTextConfig text,
                                     int heads) {
        List<String> down = List.of(UNetConfig.PLAIN_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN,
                UNetConfig.CROSS_DOWN);
        return new UNetConfig(sampleSize, Family.UPSCALE_CHANNELS, 4, channels, down, mirror(down), layersPerBlock,
                text.hiddenSize(), Collections.nCopies(4, heads), Collections.nCopies(4, 1), true, false, 32, 1e-5,
                0, 0, SEQUENCE, List.of(true, true, true, false), X4_CLASS_EMBEDS);
    }

    private static VaeConfig sd3Vae(int sampleSize, List<Integer> channels, int layersPerBlock) {
        return new VaeConfig(sampleSize, 3, 3, SD3_LATENT_CHANNELS, channels, layersPerBlock, 32, SD3_SCALING, true,
                SD3_SHIFT, false);
    }

    private static ClipTextConfig clip(int vocab, int hidden, int layers, int heads, String act, int projection,
                                       boolean withProjection, boolean hiddenStates) {
        return new ClipTextConfig(vocab, hidden, 4 * hidden, layers, heads, SEQUENCE, act, 1e-5, projection,
                withProjection, hiddenStates);
    }

    private static UNetConfig sdUnet(int sampleSize, List<Integer> channels, int layersPerBlock, int crossDim,
                                     List<Integer> heads, boolean linearProjection, boolean upcastAttention) {
        List<String> down = new ArrayList<>(Collections.nCopies(channels.size() - 1, UNetConfig.CROSS_DOWN));
        down.add(UNetConfig.PLAIN_DOWN);
        return new UNetConfig(sampleSize, 4, 4, channels, down, mirror(down), layersPerBlock, crossDim, heads,
                Collections.nCopies(channels.size(), 1), linearProjection, upcastAttention, 32, 1e-5, 0, 0,
                SEQUENCE);
    }

    private static UNetConfig xlUnet(int sampleSize, List<Integer> channels, int layersPerBlock, int crossDim,
                                     List<Integer> heads, List<Integer> depths, int timeEmbedDim, int textEmbedsDim) {
        List<String> down = new ArrayList<>();
        down.add(UNetConfig.PLAIN_DOWN);
        down.addAll(Collections.nCopies(channels.size() - 1, UNetConfig.CROSS_DOWN));
        return new UNetConfig(sampleSize, 4, 4, channels, down, mirror(down), layersPerBlock, crossDim, heads, depths,
                true, false, 32, 1e-5, timeEmbedDim, textEmbedsDim, SEQUENCE);
    }

    private static List<String> mirror(List<String> down) {
        List<String> up = new ArrayList<>();
        for (int i = down.size() - 1; i >= 0; i--) {
            up.add(down.get(i).equals(UNetConfig.CROSS_DOWN) ? UNetConfig.CROSS_UP : UNetConfig.PLAIN_UP);
        }
        return up;
    }

    private static VaeConfig vae(int sampleSize, List<Integer> channels, int layersPerBlock, double scaling,
                                 boolean forceUpcast) {
        return new VaeConfig(sampleSize, 3, 3, 4, channels, layersPerBlock, 32, scaling, forceUpcast);
    }
}
