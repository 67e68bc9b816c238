package dev.asyncdiff.adapters.controlnet;

import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.adapters.sd.StableDiffusionPipeline;
import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.List;

/**
 * Opens an SD 1.x, 2.x or XL folder with ControlNet add-ons ({@link AddOn#CONTROLNET}): a
 * {@link StableDiffusionPipeline} whose denoiser is the UNet with the ControlNets {@link ControlNets merged} into
 * it. Folders without add-ons are the {@code sd} adapter's.
 *
 * <p>The system property {@value #PLACEMENT_PROPERTY} ({@code merged}, the default, or {@code separate}) chooses
 * where the ControlNets run, for benchmarks that compare the two.
 */
public final class ControlNetAdapterProvider implements ModelAdapterProvider {
    /** The name users select this adapter by. */
    public static final String NAME = "controlnet";
    /** Where the ControlNets run: {@code merged} (default) or {@code separate}. */
    public static final String PLACEMENT_PROPERTY = "asyncdiff.controlnet.placement";

    @Override
    public String name() {
        return NAME;
    }

    /** Only with add-ons: a plain folder is the {@code sd} adapter's. */
    @Override
    public boolean supports(Path modelDir) {
        return false;
    }

    /** An SD 1.x/2.x/XL folder with ControlNets and nothing else. */
    @Override
    public boolean supports(Path modelDir, List<AddOn> addOns) {
        return !addOns.isEmpty() && addOns.stream().allMatch(a -> a.kind().equals(AddOn.CONTROLNET))
                && ModelFolder.looksSupported(modelDir);
    }

    /** Without add-ons there is nothing to guide with. */
    @Override
    public DiffusionPipeline open(Path modelDir, PipelineContext context) {
        throw new IllegalArgumentException("the controlnet adapter opens a folder with ControlNets: give at least one "
                + "(--controlnet DIR, or AddOn.controlNet(dir))");
    }

    @Override
    public DiffusionPipeline open(Path modelDir, List<AddOn> addOns, PipelineContext context) {
        List<AddOn> others = addOns.stream().filter(a -> !a.kind().equals(AddOn.CONTROLNET)).toList();
        if (!others.isEmpty()) {
            throw new IllegalArgumentException("the controlnet adapter takes ControlNets only, was also given " + others);
        }
        ControlNets nets = ControlNets.open(ModelFolder.open(modelDir), addOns.stream().map(AddOn::folder).toList(),
                placement(), context);
        try {
            return StableDiffusionPipeline.open(modelDir, context, nets);
        } catch (RuntimeException e) {
            nets.close();
            throw e;
        }
    }

    static ControlNets.Placement placement() {
        String value = System.getProperty(PLACEMENT_PROPERTY, "merged");
        for (ControlNets.Placement placement : ControlNets.Placement.values()) {
            if (placement.id().equals(value)) {
                return placement;
            }
        }
        throw new IllegalArgumentException(PLACEMENT_PROPERTY + " must be 'merged' or 'separate', was '" + value + "'");
    }
}
