package dev.asyncdiff.tck;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;

/**
 * The kit against our own {@code sd} adapter, on synthetic tiny SD 1.5 (fp32 and fp16), 2.1, XL and 3 folders,
 * the SD 1.5 and XL inpainting ones (9-channel UNets, which serve inpainting alone) and the x4 upscaler, and on
 * the real SD 1.5 and SDXL exports of {@code ../shared/data/real-exports} where they are present.
 */
class StableDiffusionCompatibilityTest {
    /** The {@code sd} adapter on one synthetic family. */
    abstract static class SdFamily extends AdapterVerification {
        @Override
        protected String adapterName() {
            return "sd";
        }
    }

    @Nested
    class Sd15 extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD15);
        }
    }

    @Nested
    class Sd15Fp16 extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD15, DType.FP16);
        }

        /** Half-precision components: split exactness to fp16 rounding. */
        @Override
        protected Tolerances tolerances() {
            return Tolerances.RANDOM_WEIGHTS.withSplitRelativeL2(1e-2);
        }
    }

    @Nested
    class Sd21 extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD21);
        }
    }

    @Nested
    class Sdxl extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SDXL);
        }
    }

    @Nested
    class Sd3 extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD3);
        }
    }

    @Nested
    class Sd15Inpaint extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD15_INPAINT);
        }
    }

    @Nested
    class SdxlInpaint extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SDXL_INPAINT);
        }
    }

    @Nested
    class X4Upscaler extends SdFamily {
        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.X4_UPSCALER);
        }

        /** Low-resolution inputs of 32 pixels, upscaled to 128. */
        @Override
        protected int imageSize() {
            return 32;
        }
    }

    @Nested
    class RealSd15Export extends SdFamily {
        @Override
        protected Path modelFolder() {
            return realExport("sd15");
        }
    }

    @Nested
    class RealSdxlExport extends SdFamily {
        @Override
        protected Path modelFolder() {
            return realExport("sdxl");
        }
    }

    /** A real export of {@code ../shared/data/real-exports}; the kit's tests are skipped where it is absent. */
    static Path realExport(String family) {
        Path folder = Path.of(System.getProperty("asyncdiff.shared.dir", "../shared"), "data", "real-exports", family);
        Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(folder.resolve("model_index.json")),
                "no real export at " + folder + " (../shared is absent in a user's clone); skipping");
        return folder;
    }
}
