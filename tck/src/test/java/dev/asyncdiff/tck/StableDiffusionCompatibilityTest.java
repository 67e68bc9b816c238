package dev.asyncdiff.tck;

import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import org.junit.jupiter.api.Nested;

/** The kit against our own {@code sd} adapter, on synthetic tiny SD 1.5, 2.1 and XL folders. */
class StableDiffusionCompatibilityTest {
    @Nested
    class Sd15 extends AdapterVerification {
        @Override
        protected String adapterName() {
            return "sd";
        }

        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD15);
        }
    }

    @Nested
    class Sd21 extends AdapterVerification {
        @Override
        protected String adapterName() {
            return "sd";
        }

        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SD21);
        }
    }

    @Nested
    class Sdxl extends AdapterVerification {
        @Override
        protected String adapterName() {
            return "sd";
        }

        @Override
        protected Path modelFolder() {
            return SyntheticModelFolders.tiny(Family.SDXL);
        }
    }
}
