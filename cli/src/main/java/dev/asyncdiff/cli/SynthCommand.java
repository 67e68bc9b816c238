package dev.asyncdiff.cli;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.ControlNetFolder;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SharedData;
import dev.asyncdiff.synthetic.SyntheticFolder;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code asyncdiff synth}: writes a model folder of any family (SD 1.5, 2.1, XL, 3, inpainting, the x4 upscaler, SVD,
 * AnimateDiff) in the exported ONNX
 * layout with seeded random weights, then prints where it went and how large it is.
 */
@Command(name = "synth",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Writes a synthetic model folder: the family's real architecture with seeded random weights.",
            "It holds model_index.json, scheduler, tokenizer(s), text encoder(s), unet (transformer for sd3), vae_encoder and vae_decoder."
        })
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--family", required = true, converter = FamilyConverter.class, paramLabel = "sd15|sd21|sdxl|sd3|sd15-inpaint|sdxl-inpaint|x4-upscaler|svd|animatediff",
            description = "Model family.")
    Family family;

    @Option(names = "--scale", required = true, converter = ScaleConverter.class, paramLabel = "tiny|small|full",
            description = "tiny: unit tests (a few MB); small: CPU benchmarks; full: the real dimensions.")
    Scale scale;

    @Option(names = "--dtype", converter = DTypeConverter.class, paramLabel = "fp32|fp16",
            description = "Weight dtype (default: fp16 at full scale, fp32 otherwise).")
    DType dtype;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
            description = "Weight seed; the same seed writes the same bytes (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer", converter = TokenizerConverter.class, paramLabel = "clip|bpe",
            description = {"clip: the real CLIP vocabulary from " + SharedData.CLIP_MERGES
                    + " in the shared folder;", "bpe: a small byte-level BPE (default: clip when that file exists)."})
    TokenizerKind tokenizer;

    @Option(names = "--controlnet",
            description = "Write the family's ControlNet folder (config.json, model.onnx; diffusers' ControlNetModel "
                    + "architecture) instead of a model folder; sd15, sd21 and sdxl.")
    boolean controlNet;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Folder to create; it must not exist or be empty.")
    Path out;

    @Override
    public Integer call() {
        TokenizerKind kind = tokenizer != null ? tokenizer : TokenizerKind.defaultKind();
        if (kind == TokenizerKind.CLIP && SharedData.clipMergesFile().isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--tokenizer clip needs " + SharedData.CLIP_MERGES
                    + " in the shared folder (-D" + SharedData.PROPERTY + ", $" + SharedData.ENVIRONMENT
                    + " or ../shared); use --tokenizer bpe");
        }
        DType weights = dtype != null ? dtype : SyntheticModels.defaultDType(scale);
        if (controlNet) {
            ControlNetFolder written;
            try {
                written = SyntheticModels.writeControlNet(family, scale, weights, seed, out);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, out.toString());
            }
            PrintWriter writer = spec.commandLine().getOut();
            writer.printf("Wrote %s %s %s ControlNet folder (seed %d) to %s%n", family.cliName(), scale.cliName(),
                    weights.name().toLowerCase(Locale.ROOT), seed, written.directory());
            writer.printf("Size: %s (%,d bytes)%nParameters: controlnet %,d%n", humanSize(written.totalBytes()),
                    written.totalBytes(), written.parameterCount());
            writer.flush();
            return ExitCodes.OK;
        }
        SyntheticFolder folder;
        try {
            folder = SyntheticModels.write(family, scale, weights, seed, kind, out);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, out.toString());
        }
        PrintWriter writer = spec.commandLine().getOut();
        writer.printf("Wrote %s %s %s model folder (seed %d, %s) to %s%n", family.cliName(), scale.cliName(),
                weights.name().toLowerCase(Locale.ROOT), seed, folder.vocabSize() == 0 ? "no tokenizer"
                        : String.format(Locale.ROOT, "%s tokenizer with %,d tokens", kind.cliName(), folder.vocabSize()),
                folder.directory());
        writer.printf("Size: %s (%,d bytes)%n", humanSize(folder.totalBytes()), folder.totalBytes());
        writer.printf("Parameters: %s%n", folder.parameterCounts().entrySet().stream()
                .sorted(java.util.Map.Entry.comparingByKey())
                .map(entry -> String.format("%s %,d", entry.getKey(), entry.getValue()))
                .collect(Collectors.joining("; ")));
        writer.flush();
        return ExitCodes.OK;
    }

    /** {@code bytes} in B, KiB, MiB or GiB with one decimal. */
    static String humanSize(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }

    /** Parses {@code --family} with {@link Family#parse}. */
    static final class FamilyConverter implements ITypeConverter<Family> {
        @Override
        public Family convert(String value) {
            return convertWith(() -> Family.parse(value));
        }
    }

    /** Parses {@code --scale} with {@link Scale#parse}. */
    static final class ScaleConverter implements ITypeConverter<Scale> {
        @Override
        public Scale convert(String value) {
            return convertWith(() -> Scale.parse(value));
        }
    }

    /** Parses {@code --dtype} with {@link SyntheticModels#parseDType}. */
    static final class DTypeConverter implements ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            return convertWith(() -> SyntheticModels.parseDType(value));
        }
    }

    /** Parses {@code --tokenizer} with {@link TokenizerKind#parse}. */
    static final class TokenizerConverter implements ITypeConverter<TokenizerKind> {
        @Override
        public TokenizerKind convert(String value) {
            return convertWith(() -> TokenizerKind.parse(value));
        }
    }

    private static <T> T convertWith(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
